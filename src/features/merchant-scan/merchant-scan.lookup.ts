import type { Env } from "../../env";
import { primaryOf } from "../../db/request-db";
import type { QrKey } from "./qr-data";
import type { RedeemableFields } from "../vouchers/redeemable";
import { type VoucherValueRow, voucherValueColumns } from "../vouchers/voucher-value";

export const holderName = (row: Pick<LookupRow, "first_name" | "last_name" | "username">) =>
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
 * The purchase as the till sees it: the scan's answer and why a redeem that changed nothing was
 * refused are both read from it in TS (`holderName`, `voucherValueOfRow`, `cannotRedeemReason`).
 * Only raw columns: the statement's text travels with every query, and the same answer computed
 * in SQL (CASE and printf over the value columns, the name's TRIM, the reason's CASE) made it
 * three times as long as the few more columns it saved cost to ship back.
 */
export interface LookupRow extends KeyMatch, VoucherValueRow, RedeemableFields {
  purchase_reference: string;
  is_gift_voucher: number;
  purchased_at: string;
  title: string;
  first_name: string;
  last_name: string;
  username: string;
  phone: string | null;
  /**
   * The caller's own merchant row's `is_active` (null: not a merchant). The answer is only shown,
   * and a refusal only explained, for the caller's own business's purchase, whose merchant is then
   * that row: so it is the purchase's merchant's too, with no join for it.
   */
  merchant_active: number;
}

const MATCH: Record<QrKey["kind"], string> = {
  reference: "r.purchase_reference = ?2",
  redemption_id: "r.id = ?2",
  uuid: "r.uuid = ?2",
  // Never true; it still names ?2, since the statement always binds the key.
  none: "(0 AND r.uuid = ?2)",
};

const COLUMNS = `me.id AS my_merchant_id, me.is_active AS merchant_active,
      r.id, r.merchant_id, r.purchase_reference, r.purchase_status, r.is_gift_voucher, r.remaining_redemptions, r.purchased_at, r.expiry_date,
      v.title, ${voucherValueColumns("r")}, u.first_name, u.last_name, u.username, u.phone`;

/** The statement for one kind of key (and gift code or not), built once per isolate: it was a share of the scan's own time. */
const statements = new Map<string, string>();
function lookupSql(kind: QrKey["kind"], isGift: boolean): string {
  const cacheKey = `${kind}:${isGift}`;
  let sql = statements.get(cacheKey);
  if (sql === undefined) {
    sql = buildLookupSql(kind, isGift);
    statements.set(cacheKey, sql);
  }
  return sql;
}

function buildLookupSql(kind: QrKey["kind"], isGift: boolean): string {
  return `SELECT ${COLUMNS},
      ${kind === "uuid" ? "(SELECT vu.merchant_id FROM vouchers vu WHERE vu.uuid = ?2)" : "NULL"} AS voucher_uuid_merchant_id,
      ${isGift ? "(SELECT gv.merchant_id FROM gift_card_shares s JOIN vouchers gv ON gv.id = s.voucher_id WHERE s.claim_reference = ?2 AND s.is_claimed = 0)" : "NULL"} AS unclaimed_share_merchant_id
    FROM (SELECT ?1 AS uid) q
    LEFT JOIN merchants me ON me.user_id = q.uid
    LEFT JOIN voucher_redemptions r ON ${MATCH[kind]}
    LEFT JOIN vouchers v ON v.id = r.voucher_id LEFT JOIN users u ON u.id = r.user_id`;
}

/**
 * One D1 round trip (two only when a replica misses). The terms shown at the till are the
 * purchase's own, frozen when it was sold (a claimed gift card's are its source purchase's),
 * whatever the merchant edited since. The one-row subquery `q` keeps a row even when nothing
 * matches, so the caller learns in the same query whether they are a merchant at all and why the
 * key matched nothing (a voucher UUID, an unclaimed gift card, or nothing).
 */
async function lookup(env: Pick<Env, "DB">, sql: string, params: unknown[]): Promise<LookupRow> {
  const row = (await env.DB.prepare(sql).bind(...params).first<LookupRow>())!;
  if (row.id !== null && row.my_merchant_id !== null) return row;
  // A read replica may not have a purchase or profile made a moment ago (the buyer's bookmark is not
  // the merchant's): a miss is asked again of the primary before the till is told "not found".
  return (await primaryOf(env.DB).prepare(sql).bind(...params).first<LookupRow>())!;
}

const isGiftCode = (key: QrKey) => key.kind === "reference" && key.value.startsWith("GFT-");

/** The purchase a key names, for the scan's answer and for a redeem that changed nothing to say why. */
export const lookupPurchase = (env: Pick<Env, "DB">, userId: number, key: QrKey) =>
  lookup(env, lookupSql(key.kind, isGiftCode(key)), [userId, key.value]);
