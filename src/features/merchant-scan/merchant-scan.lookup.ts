import type { Env } from "../../env";
import { primaryOf } from "../../db/request-db";
import type { QrKey } from "./qr-data";
import type { PurchaseStatus } from "../../db/schema";
import { type VoucherValueRow, voucherValueColumns } from "../vouchers/voucher-value";

/** One row: the scanning merchant, the purchase the key names, its voucher, holder and merchant. */
export interface ScanRow extends VoucherValueRow {
  my_merchant_id: number | null;
  my_merchant_active: number | null;
  id: number | null;
  uuid: string | null;
  user_id: number;
  merchant_id: number;
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
  /** Set when the key is a voucher UUID (not a purchase): that voucher's merchant. */
  voucher_uuid_merchant_id: number | null;
  /** Set when the key is a GFT code that nobody has claimed yet: that gift card's merchant. */
  unclaimed_share_merchant_id: number | null;
}

const MATCH: Record<QrKey["kind"], string> = {
  reference: "r.purchase_reference = ?2",
  redemption_id: "r.id = ?2",
  uuid: "r.uuid = ?2",
  // Never true; it still names ?2, since the statement always binds two values.
  none: "(0 AND r.uuid = ?2)",
};

/** The statement for one kind of key (and gift code or not), built once per isolate: it was a share of the scan's own time. */
const statements = new Map<string, string>();
function scanSql(kind: QrKey["kind"], isGift: boolean): string {
  const cacheKey = `${kind}:${isGift}`;
  let sql = statements.get(cacheKey);
  if (sql === undefined) {
    sql = buildScanSql(kind, isGift);
    statements.set(cacheKey, sql);
  }
  return sql;
}

function buildScanSql(kind: QrKey["kind"], isGift: boolean): string {
  const isUuid = kind === "uuid";
  return `
    SELECT me.id AS my_merchant_id, me.is_active AS my_merchant_active,
      r.id, r.uuid, r.user_id, r.merchant_id, r.purchase_reference, r.purchase_status, r.is_gift_voucher,
      r.remaining_redemptions, r.purchased_at, r.expiry_date,
      v.title, ${voucherValueColumns("r")},
      u.first_name, u.last_name, u.username, u.phone,
      m.business_name, m.is_active AS merchant_active,
      ${isUuid ? "(SELECT vu.merchant_id FROM vouchers vu WHERE vu.uuid = ?2)" : "NULL"} AS voucher_uuid_merchant_id,
      ${isGift ? "(SELECT gv.merchant_id FROM gift_card_shares s JOIN vouchers gv ON gv.id = s.voucher_id WHERE s.claim_reference = ?2 AND s.is_claimed = 0)" : "NULL"} AS unclaimed_share_merchant_id
    FROM (SELECT ?1 AS uid) q
    LEFT JOIN merchants me ON me.user_id = q.uid
    LEFT JOIN voucher_redemptions r ON ${MATCH[kind]}
    LEFT JOIN vouchers v ON v.id = r.voucher_id
    LEFT JOIN users u ON u.id = r.user_id
    LEFT JOIN merchants m ON m.id = r.merchant_id`;
}

/**
 * The scan's only D1 round trip (two only when a replica misses). The terms shown at the till are the purchase's own, frozen when it
 * was sold (a claimed gift card's are its source purchase's), whatever the merchant edited since. The one-row subquery `q` keeps a row even when nothing
 * matches, so the caller learns in the same query whether they are a merchant at all and why
 * the key matched nothing (a voucher UUID, an unclaimed gift card, or nothing).
 */
export async function lookupForScan(env: Pick<Env, "DB">, userId: number, key: QrKey): Promise<ScanRow> {
  const sql = scanSql(key.kind, key.kind === "reference" && String(key.value).startsWith("GFT-"));
  const row = (await env.DB.prepare(sql).bind(userId, key.value).first<ScanRow>())!;
  if (row.id !== null && row.my_merchant_id !== null) return row;
  // A read replica may not have a purchase or profile made a moment ago (the buyer's bookmark is not
  // the merchant's): a miss is asked again of the primary before the till is told "not found".
  return (await primaryOf(env.DB).prepare(sql).bind(userId, key.value).first<ScanRow>())!;
}

export const holderName = (row: Pick<ScanRow, "first_name" | "last_name" | "username">) =>
  `${row.first_name ?? ""} ${row.last_name ?? ""}`.trim() || row.username;

/** `holderName` as SQL over a `users` row named `alias`, for answers a batch writes itself (a test checks they agree). */
export const holderNameSql = (alias: string) =>
  `COALESCE(NULLIF(TRIM(COALESCE(${alias}.first_name, '') || ' ' || COALESCE(${alias}.last_name, ''), ' ' || char(9) || char(10) || char(13)), ''), ${alias}.username)`;
