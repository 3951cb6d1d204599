import type { Env } from "../../env";
import { notFound } from "../../lib/errors";
import { pageWindow, paginated, type Pagination } from "../../lib/pagination";
import { nowIso } from "../../lib/time";
import type { PurchaseStatus } from "../../db/schema";
import { mediaUrl } from "../media/images";
import { canRedeem } from "../vouchers/redeemable";
import { type VoucherValueRow, voucherTypeName, voucherValueColumns, voucherValueOfRow } from "../vouchers/voucher-value";

/**
 * Columns every redemption view needs; select them with `FROM voucher_redemptions r JOIN vouchers v ... JOIN merchants m`.
 * The value and type are the purchase's own (frozen when it was sold), not the voucher's current ones.
 */
export const REDEMPTION_COLUMNS = `r.id, r.uuid, r.voucher_id, r.user_id, r.merchant_id, r.purchase_reference, r.purchase_status, r.is_gift_voucher,
  r.total_redemptions, r.remaining_redemptions, r.purchased_at, r.expiry_date, v.title, ${voucherValueColumns("r")}, v.image_key, v.is_gift_card,
  m.business_name AS merchant_name, m.is_active AS merchant_active`;

export interface RedemptionRow extends VoucherValueRow {
  id: number;
  uuid: string;
  voucher_id: number;
  user_id: number;
  merchant_id: number;
  purchase_reference: string;
  purchase_status: PurchaseStatus;
  is_gift_voucher: number;
  total_redemptions: number;
  remaining_redemptions: number;
  purchased_at: string;
  expiry_date: string;
  title: string;
  image_key: string | null;
  is_gift_card: number;
  merchant_name: string;
  merchant_active: number;
}

/** The spec's user-voucher item (GET /user-vouchers/), shared with gift-card and scan views. */
export function redemptionJson(r: RedemptionRow, baseUrl: string, now = nowIso()) {
  return {
    id: r.id,
    voucher_id: r.voucher_id,
    voucher_title: r.title,
    merchant_name: r.merchant_name,
    voucher_type: voucherTypeName(r.voucher_type),
    voucher_value: voucherValueOfRow(r),
    purchased_at: r.purchased_at,
    expiry_date: r.expiry_date,
    purchase_status: r.purchase_status,
    purchase_reference: r.purchase_reference,
    is_gift_voucher: r.is_gift_voucher === 1,
    can_redeem: canRedeem(r, now),
    total_redemptions: r.total_redemptions,
    remaining_redemptions: r.remaining_redemptions,
    image: mediaUrl(baseUrl, r.image_key),
  };
}

const FROM = "FROM voucher_redemptions r JOIN vouchers v ON v.id = r.voucher_id JOIN merchants m ON m.id = r.merchant_id";

export async function listUserVouchers(
  env: Pick<Env, "DB">,
  baseUrl: string,
  userId: number,
  requestUrl: string,
  q: Pagination & { purchase_status?: PurchaseStatus; is_gift_voucher?: boolean },
) {
  const filters = ["r.user_id = ?"];
  const params: unknown[] = [userId];
  if (q.purchase_status) {
    filters.push("r.purchase_status = ?");
    params.push(q.purchase_status);
  }
  if (q.is_gift_voucher !== undefined) {
    filters.push("r.is_gift_voucher = ?");
    params.push(q.is_gift_voucher ? 1 : 0);
  }
  const where = filters.join(" AND ");
  const { limit, offset } = pageWindow(q);
  const [page, total] = await env.DB.batch([
    env.DB.prepare(`SELECT ${REDEMPTION_COLUMNS} ${FROM} WHERE ${where} ORDER BY r.purchased_at DESC, r.id DESC LIMIT ? OFFSET ?`).bind(...params, limit, offset),
    env.DB.prepare(`SELECT COUNT(*) AS n FROM voucher_redemptions r WHERE ${where}`).bind(...params),
  ]);
  const now = nowIso();
  const results = (page!.results as unknown as RedemptionRow[]).map((r) => redemptionJson(r, baseUrl, now));
  return paginated(requestUrl, q, (total!.results[0] as { n: number }).n, results);
}

/** The caller's own purchase; anyone else's is "not found". */
export async function ownRedemption(env: Pick<Env, "DB">, userId: number, redemptionId: number) {
  const row = await env.DB.prepare(`SELECT ${REDEMPTION_COLUMNS} ${FROM} WHERE r.id = ? AND r.user_id = ?`).bind(redemptionId, userId).first<RedemptionRow>();
  if (!row) throw notFound("Voucher purchase");
  return row;
}

export function qrCodeJson(r: RedemptionRow, svgUrl: string) {
  return {
    message: "Voucher QR code data",
    voucher_details: {
      id: r.voucher_id,
      title: r.title,
      merchant_name: r.merchant_name,
      voucher_type: voucherTypeName(r.voucher_type),
      voucher_value: voucherValueOfRow(r),
      purchased_at: r.purchased_at,
      expiry_date: r.expiry_date,
      remaining_redemptions: r.remaining_redemptions,
    },
    qr_code_data: { purchase_reference: r.purchase_reference, redemption_id: r.id, voucher_uuid: r.uuid },
    qr_code_svg_url: svgUrl,
    redemption_instructions: "Show this QR code to the merchant for redemption",
  };
}
