import type { Env } from "../../env";
import { primaryOf } from "../../db/request-db";
import type { QrKey } from "./qr-data";
import type { PurchaseStatus } from "../../db/schema";
import { type CannotRedeemReason, cannotRedeemReasonSql } from "../vouchers/redeemable";
import { type VoucherValueRow, voucherValueColumns, voucherValueSql } from "../vouchers/voucher-value";

export const holderName = (row: Pick<RedeemLookupRow, "first_name" | "last_name" | "username">) =>
  `${row.first_name ?? ""} ${row.last_name ?? ""}`.trim() || row.username;

/** `holderName` as SQL over a `users` row named `alias`, for answers a batch writes itself (a test checks they agree). */
export const holderNameSql = (alias: string) =>
  `COALESCE(NULLIF(TRIM(COALESCE(${alias}.first_name, '') || ' ' || COALESCE(${alias}.last_name, ''), ' ' || char(9) || char(10) || char(13)), ''), ${alias}.username)`;

/** The caller's merchant row and the purchase a key names, with why the key matched nothing. */
interface KeyMatch {
  my_merchant_id: number | null;
  id: number | null;
  merchant_id: number;
  /** Set when the key is a voucher UUID (not a purchase): that voucher's merchant. */
  voucher_uuid_merchant_id: number | null;
  /** Set when the key is a GFT code that nobody has claimed yet: that gift card's merchant. */
  unclaimed_share_merchant_id: number | null;
}

/**
 * The scan's row: only what its answer shows, with the holder's name, the value's summary and the
 * reason it cannot be redeemed computed by D1. In Miniflare every column of a D1 row is serialised
 * to the worker and made into an object, so a wide row costs the isolate more.
 */
export interface ScanAnswerRow extends KeyMatch {
  purchase_reference: string;
  is_gift_voucher: number;
  remaining_redemptions: number;
  purchased_at: string;
  expiry_date: string;
  title: string;
  voucher_type: number;
  voucher_value: string;
  holder_name: string;
  phone: string | null;
  /** Why it cannot be redeemed now (the caller's own merchant row being the purchase's), or null. */
  reason_code: CannotRedeemReason | null;
}

/** The purchase with every column a redeem that changed nothing needs to say why. */
export interface RedeemLookupRow extends KeyMatch, VoucherValueRow {
  my_merchant_active: number | null;
  uuid: string | null;
  user_id: number;
  purchase_reference: string;
  purchase_status: PurchaseStatus;
  is_gift_voucher: number;
  remaining_redemptions: number;
  purchased_at: string;
  expiry_date: string;
  title: string;
  first_name: string;
  last_name: string;
  username: string;
  phone: string | null;
  business_name: string;
  merchant_active: number;
}

const MATCH: Record<QrKey["kind"], string> = {
  reference: "r.purchase_reference = ?2",
  redemption_id: "r.id = ?2",
  uuid: "r.uuid = ?2",
  // Never true; it still names ?2, since the statement always binds the key.
  none: "(0 AND r.uuid = ?2)",
};

/**
 * The scan's answer is only shown for the caller's own business's purchase, whose merchant is then
 * the caller's own row `me`: its `is_active` is the purchase's merchant's, with no join for it.
 */
const SCAN_COLUMNS = `me.id AS my_merchant_id,
      r.id, r.merchant_id, r.purchase_reference, r.is_gift_voucher, r.remaining_redemptions, r.purchased_at, r.expiry_date,
      v.title, r.voucher_type, ${voucherValueSql("r")} AS voucher_value,
      ${holderNameSql("u")} AS holder_name, u.phone,
      ${cannotRedeemReasonSql("r", { merchantActive: "me.is_active", now: "?3" })} AS reason_code`;
const SCAN_JOINS = "LEFT JOIN vouchers v ON v.id = r.voucher_id LEFT JOIN users u ON u.id = r.user_id";

const REDEEM_COLUMNS = `me.id AS my_merchant_id, me.is_active AS my_merchant_active,
      r.id, r.uuid, r.user_id, r.merchant_id, r.purchase_reference, r.purchase_status, r.is_gift_voucher,
      r.remaining_redemptions, r.purchased_at, r.expiry_date,
      v.title, ${voucherValueColumns("r")},
      u.first_name, u.last_name, u.username, u.phone,
      m.business_name, m.is_active AS merchant_active`;
const REDEEM_JOINS = `${SCAN_JOINS} LEFT JOIN merchants m ON m.id = r.merchant_id`;

type Purpose = "scan" | "redeem";

/** The statement for one purpose and kind of key (and gift code or not), built once per isolate: it was a share of the scan's own time. */
const statements = new Map<string, string>();
function lookupSql(purpose: Purpose, kind: QrKey["kind"], isGift: boolean): string {
  const cacheKey = `${purpose}:${kind}:${isGift}`;
  let sql = statements.get(cacheKey);
  if (sql === undefined) {
    sql = buildLookupSql(purpose, kind, isGift);
    statements.set(cacheKey, sql);
  }
  return sql;
}

function buildLookupSql(purpose: Purpose, kind: QrKey["kind"], isGift: boolean): string {
  const isUuid = kind === "uuid";
  return `
    SELECT ${purpose === "scan" ? SCAN_COLUMNS : REDEEM_COLUMNS},
      ${isUuid ? "(SELECT vu.merchant_id FROM vouchers vu WHERE vu.uuid = ?2)" : "NULL"} AS voucher_uuid_merchant_id,
      ${isGift ? "(SELECT gv.merchant_id FROM gift_card_shares s JOIN vouchers gv ON gv.id = s.voucher_id WHERE s.claim_reference = ?2 AND s.is_claimed = 0)" : "NULL"} AS unclaimed_share_merchant_id
    FROM (SELECT ?1 AS uid) q
    LEFT JOIN merchants me ON me.user_id = q.uid
    LEFT JOIN voucher_redemptions r ON ${MATCH[kind]}
    ${purpose === "scan" ? SCAN_JOINS : REDEEM_JOINS}`;
}

/**
 * One D1 round trip (two only when a replica misses). The terms shown at the till are the
 * purchase's own, frozen when it was sold (a claimed gift card's are its source purchase's),
 * whatever the merchant edited since. The one-row subquery `q` keeps a row even when nothing
 * matches, so the caller learns in the same query whether they are a merchant at all and why the
 * key matched nothing (a voucher UUID, an unclaimed gift card, or nothing).
 */
async function lookup<Row extends KeyMatch>(env: Pick<Env, "DB">, sql: string, params: unknown[]): Promise<Row> {
  const row = (await env.DB.prepare(sql).bind(...params).first<Row>())!;
  if (row.id !== null && row.my_merchant_id !== null) return row;
  // A read replica may not have a purchase or profile made a moment ago (the buyer's bookmark is not
  // the merchant's): a miss is asked again of the primary before the till is told "not found".
  return (await primaryOf(env.DB).prepare(sql).bind(...params).first<Row>())!;
}

const isGiftCode = (key: QrKey) => key.kind === "reference" && key.value.startsWith("GFT-");

/** The scan's lookup: what the till is shown, the reason judged at `now`. */
export const lookupForScan = (env: Pick<Env, "DB">, userId: number, key: QrKey, now: string) =>
  lookup<ScanAnswerRow>(env, lookupSql("scan", key.kind, isGiftCode(key)), [userId, key.value, now]);

/** The purchase as a redeem that changed nothing reads it, to say why. */
export const lookupForRedeem = (env: Pick<Env, "DB">, userId: number, key: QrKey) =>
  lookup<RedeemLookupRow>(env, lookupSql("redeem", key.kind, isGiftCode(key)), [userId, key.value]);
