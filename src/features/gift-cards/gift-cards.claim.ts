import type { Env } from "../../env";
import { isUniqueViolation, refusingConstraint } from "../../lib/d1-errors";
import { ApiError, ErrorCode, badRequest } from "../../lib/errors";
import { uuid } from "../../lib/ids";
import { nowIso } from "../../lib/time";
import { type VoucherValueRow, voucherTypeName, voucherValueColumns, voucherValueOfRow } from "../vouchers/voucher-value";

/** Unknown and already-claimed references get this same answer, so the endpoint is no oracle. */
const unavailable = () => new ApiError(404, ErrorCode.NOT_FOUND, "Gift card not found or already claimed.");
/** Raised by the trigger vouchers_stock_guard when a claim would pass the voucher's stock. */
const STOCK_GUARD = "voucher_stock";
export const claimSoldOut = () =>
  new ApiError(400, ErrorCode.SOLD_OUT, "This gift card can no longer be claimed: the merchant has issued all of this voucher's stock.");

/** The share, and the purchase it came from with its frozen terms (what the sharer bought). */
interface ClaimRow extends VoucherValueRow {
  share_id: number;
  sharer_id: number;
  is_claimed: number;
  source_status: string;
  expiry_date: string;
  title: string;
  business_name: string;
  count: number | null;
  issued: number;
}

/**
 * The reference is a bearer secret, like a gift-card number: whoever holds it may claim it, once.
 * Each claimed copy takes a unit of the voucher's stock in the same batch as the claim, under the
 * guard a purchase meets, so the merchant never owes more copies than it issued.
 * Exactly once: the guarded UPDATE and the redemption INSERT run in one batch, the INSERT only if
 * the UPDATE changed a row, and UNIQUE(gift_share_id) refuses a second redemption regardless.
 */
export async function claimGiftCard(env: Pick<Env, "DB">, userId: number, rawReference: string) {
  const reference = rawReference.trim().toUpperCase();
  const row = await env.DB.prepare(
    `SELECT s.id AS share_id, s.sharer_id, s.is_claimed, src.purchase_status AS source_status, src.expiry_date,
            ${voucherValueColumns("src")}, v.title, v.count, v.sold_count + v.claimed_count AS issued, m.business_name
       FROM gift_card_shares s
       JOIN voucher_redemptions src ON src.id = s.source_redemption_id
       JOIN vouchers v ON v.id = src.voucher_id
       JOIN merchants m ON m.id = src.merchant_id
      WHERE s.claim_reference = ?`,
  )
    .bind(reference)
    .first<ClaimRow>();
  if (!row || row.is_claimed) throw unavailable();
  if (row.sharer_id === userId) throw badRequest("You cannot claim a gift card you shared.");
  const now = nowIso();
  if (row.source_status === "cancelled" || row.source_status === "refunded")
    throw new ApiError(400, ErrorCode.NOT_REDEEMABLE, `This gift card is no longer valid: the original purchase was ${row.source_status}.`);
  if (row.expiry_date <= now) throw new ApiError(400, ErrorCode.EXPIRED, "This gift card has expired.");
  if (row.count !== null && row.issued >= row.count) throw claimSoldOut();

  const copyUuid = uuid();
  let redemptionId: number | undefined;
  try {
    const [, inserted] = await env.DB.batch<{ id: number }>([
      env.DB.prepare(
        "UPDATE gift_card_shares SET is_claimed = 1, claimed_by = ?1, claimed_at = ?2 WHERE id = ?3 AND is_claimed = 0 AND sharer_id != ?1",
      ).bind(userId, now, row.share_id),
      // The copy's terms come from the source purchase (trigger voucher_redemptions_freeze_terms).
      env.DB.prepare(
        `INSERT INTO voucher_redemptions (uuid, voucher_id, merchant_id, user_id, purchase_reference, purchase_status, is_gift_voucher,
            gift_share_id, source_redemption_id, purchase_cost, total_redemptions, remaining_redemptions, purchased_at, expiry_date, updated_at)
         SELECT ?1, src.voucher_id, src.merchant_id, ?2, s.claim_reference, 'purchased', 1, s.id, src.id, 0,
                src.total_redemptions, src.total_redemptions, ?3, src.expiry_date, ?3
           FROM gift_card_shares s JOIN voucher_redemptions src ON src.id = s.source_redemption_id
          WHERE s.id = ?4 AND s.claimed_by = ?2 AND changes() = 1
         RETURNING id`,
      ).bind(copyUuid, userId, now, row.share_id),
      // Only if this attempt's copy exists; the stock guard aborts the whole batch past the stock.
      env.DB.prepare(
        `UPDATE vouchers SET claimed_count = claimed_count + 1, updated_at = ?1
          WHERE id = (SELECT voucher_id FROM voucher_redemptions WHERE uuid = ?2)`,
      ).bind(now, copyUuid),
    ]);
    redemptionId = inserted!.results[0]?.id;
  } catch (error) {
    if (refusingConstraint(error) === STOCK_GUARD) throw claimSoldOut();
    if (isUniqueViolation(error)) throw unavailable();
    throw error;
  }
  if (redemptionId === undefined) throw unavailable();

  return {
    message: "Gift card claimed successfully!",
    gift_card_details: {
      id: redemptionId,
      title: row.title,
      merchant: row.business_name,
      voucher_type: voucherTypeName(row.voucher_type),
      voucher_value: voucherValueOfRow(row),
      expiry_date: row.expiry_date,
      purchase_reference: reference,
      claim_reference: reference,
    },
    redemption_instructions: "You can now use this gift card at the merchant location",
  };
}
