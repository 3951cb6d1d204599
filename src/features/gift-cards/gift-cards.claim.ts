import type { Env } from "../../env";
import { ApiError, ErrorCode, badRequest, forbidden } from "../../lib/errors";
import { uuid } from "../../lib/ids";
import { nowIso } from "../../lib/time";
import { type VoucherValueRow, voucherTypeName, voucherValueOfRow } from "../vouchers/voucher-value";

/** Unknown and already-claimed references get this same answer, so the endpoint is no oracle. */
const unavailable = () => new ApiError(404, ErrorCode.NOT_FOUND, "Gift card not found or already claimed.");

interface ClaimRow extends VoucherValueRow {
  claimer_phone: string | null;
  share_id: number | null;
  sharer_id: number;
  recipient_phone: string;
  is_claimed: number;
  source_status: string;
  expiry_date: string;
  title: string;
  business_name: string;
}

/**
 * Phone rule: a claimer with a phone on their profile must be the number the card was sent to;
 * a claimer without one may claim with the reference alone (it reached them over WhatsApp).
 * Exactly once: the guarded UPDATE and the redemption INSERT run in one batch, the INSERT only if
 * the UPDATE changed a row, and UNIQUE(gift_share_id) refuses a second redemption regardless.
 */
export async function claimGiftCard(env: Pick<Env, "DB">, userId: number, rawReference: string) {
  const reference = rawReference.trim().toUpperCase();
  const row = await env.DB.prepare(
    `SELECT me.phone AS claimer_phone, s.id AS share_id, s.sharer_id, s.recipient_phone, s.is_claimed,
            src.purchase_status AS source_status, src.expiry_date,
            v.title, v.voucher_type, v.percentage_value, v.percentage_min_bill, v.flat_amount, v.flat_min_bill,
            v.product_name, v.product_min_bill, m.business_name
       FROM users me
       LEFT JOIN gift_card_shares s ON s.claim_reference = ?2
       LEFT JOIN voucher_redemptions src ON src.id = s.source_redemption_id
       LEFT JOIN vouchers v ON v.id = src.voucher_id
       LEFT JOIN merchants m ON m.id = src.merchant_id
      WHERE me.id = ?1`,
  )
    .bind(userId, reference)
    .first<ClaimRow>();
  if (!row || row.share_id === null || row.is_claimed) throw unavailable();
  if (row.sharer_id === userId) throw badRequest("You cannot claim a gift card you shared.");
  if (row.claimer_phone && row.claimer_phone !== row.recipient_phone)
    throw forbidden("This gift card was sent to a different phone number than the one on your profile.");
  const now = nowIso();
  if (row.source_status === "cancelled" || row.source_status === "refunded")
    throw new ApiError(400, ErrorCode.NOT_REDEEMABLE, `This gift card is no longer valid: the original purchase was ${row.source_status}.`);
  if (row.expiry_date <= now) throw new ApiError(400, ErrorCode.EXPIRED, "This gift card has expired.");

  let redemptionId: number | undefined;
  try {
    const [, inserted] = await env.DB.batch<{ id: number }>([
      env.DB.prepare(
        "UPDATE gift_card_shares SET is_claimed = 1, claimed_by = ?1, claimed_at = ?2 WHERE id = ?3 AND is_claimed = 0 AND sharer_id != ?1",
      ).bind(userId, now, row.share_id),
      env.DB.prepare(
        `INSERT INTO voucher_redemptions (uuid, voucher_id, merchant_id, user_id, purchase_reference, purchase_status, is_gift_voucher,
            gift_share_id, source_redemption_id, purchase_cost, total_redemptions, remaining_redemptions, purchased_at, expiry_date, updated_at)
         SELECT ?1, src.voucher_id, src.merchant_id, ?2, s.claim_reference, 'purchased', 1, s.id, src.id, 0,
                v.redemptions_per_purchase, v.redemptions_per_purchase, ?3, src.expiry_date, ?3
           FROM gift_card_shares s JOIN voucher_redemptions src ON src.id = s.source_redemption_id JOIN vouchers v ON v.id = src.voucher_id
          WHERE s.id = ?4 AND s.claimed_by = ?2 AND changes() = 1
         RETURNING id`,
      ).bind(uuid(), userId, now, row.share_id),
    ]);
    redemptionId = inserted!.results[0]?.id;
  } catch (error) {
    if (String((error as Error)?.message).includes("UNIQUE constraint failed")) throw unavailable();
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
