import type { Env } from "../../env";
import { ApiError, ErrorCode, forbidden, notFound } from "../../lib/errors";
import { nowIso } from "../../lib/time";
import { batchWithAnswer } from "../../middleware/idempotency";
import { voucherTypeName, voucherValueOfRow } from "../vouchers/voucher-value";
import { notAMerchant } from "./merchant-access";
import { cannotRedeemReason, redeemableCondition } from "../vouchers/redeemable";
import { holderName, holderNameSql, lookupPurchase, type LookupRow } from "./merchant-scan.lookup";
import type { QrKey } from "./qr-data";

const otherBusiness = () => forbidden("Access denied. You can only scan vouchers from your own business.");
const invalidQr = () =>
  new ApiError(400, ErrorCode.INVALID_QR_CODE, "Voucher not found or invalid QR code. Please check the code and scan again.");

/**
 * Scan: one D1 round trip, which also says whether the caller is a merchant; the holder's name,
 * the value's summary and the reason it cannot be redeemed are read from its row. A merchant profile
 * that exists but is inactive may still look a purchase up (answered with can_redeem false and
 * reason merchant_inactive); it cannot redeem. `key` is the scanned text as `parseQrData` reads it
 * (null: not a code at all).
 */
export async function scanVoucher(env: Pick<Env, "DB">, userId: number, key: QrKey | null) {
  const now = nowIso();
  if (!key) {
    // Still refuse non-merchants first, so the 400 never tells a stranger anything.
    const row = await lookupPurchase(env, userId, { kind: "none", value: "" });
    if (row.my_merchant_id === null) throw notAMerchant();
    throw invalidQr();
  }
  const found = authorise(await lookupPurchase(env, userId, key));
  const details = {
    id: found.id!,
    title: found.title,
    voucher_type: voucherTypeName(found.voucher_type),
    voucher_value: voucherValueOfRow(found),
    user_info: { name: holderName(found), phone: found.phone, is_original_purchaser: !found.is_gift_voucher },
    purchased_at: found.purchased_at,
    expiry_date: found.expiry_date,
    remaining_redemptions: found.remaining_redemptions,
    purchase_reference: found.purchase_reference,
    redemption_id: found.id!,
    is_gift_card: Boolean(found.is_gift_voucher),
  };
  const reason = cannotRedeemReason(found, now);
  if (reason === null) return { message: "Voucher found and eligible for redemption", voucher_details: details, can_redeem: true as const };
  return {
    message: "Voucher found but it cannot be redeemed",
    voucher_details: details,
    can_redeem: false as const,
    reason: reason.text,
    reason_code: reason.code,
  };
}

/** Merchant first, then the key, then ownership: a non-merchant learns nothing about any code. */
function authorise(row: LookupRow): LookupRow {
  if (row.my_merchant_id === null) throw notAMerchant();
  if (row.id === null) {
    if (row.unclaimed_share_merchant_id !== null) {
      if (row.unclaimed_share_merchant_id !== row.my_merchant_id) throw otherBusiness();
      throw new ApiError(
        400,
        ErrorCode.NOT_REDEEMABLE,
        "This gift card has not been claimed yet. The recipient must claim it before it can be redeemed.",
      );
    }
    if (row.voucher_uuid_merchant_id !== null)
      throw new ApiError(
        400,
        ErrorCode.INVALID_QR_CODE,
        "This code identifies a voucher, not a purchase. Ask the customer to show the QR code of their purchase.",
      );
    throw invalidQr();
  }
  if (row.merchant_id !== row.my_merchant_id) throw otherBusiness();
  return row;
}

export interface RedeemInput {
  redemption_id: number;
  location: string;
  notes: string;
  quantity: number;
}

/** The redeem answer's fields that only the database knows, read from the event a redeem just wrote. */
const EVENT_ANSWER_JOIN = `FROM redemption_events e JOIN voucher_redemptions r ON r.id = e.redemption_id JOIN vouchers v ON v.id = r.voucher_id
  JOIN users u ON u.id = r.user_id JOIN merchants m ON m.id = r.merchant_id WHERE e.reference = ?`;
/** The redeem answer's fields read from its event (`EVENT_ANSWER_JOIN`), by JSON path. */
const EVENT_ANSWER_FIELDS = {
  "$.voucher_title": "v.title",
  "$.user_name": holderNameSql("u"),
  "$.purchase_reference": "r.purchase_reference",
  "$.merchant_name": "m.business_name",
  "$.remaining_redemptions": "e.remaining_after",
};

/**
 * Redeem in one round trip: the decrement is one guarded UPDATE (the caller's own active business,
 * status, expiry and remaining checked inside D1), the event row is inserted in the same batch only
 * if that UPDATE changed a row, and the batch makes the answer from that event (one query). So a
 * lost race or a refused redeem records nothing, and an Idempotency-Key claim and the answer ride
 * in the same batch (`idempotencyInBatch`). Only when nothing was redeemed is the purchase read, to
 * say why.
 */
export async function redeemVoucher(env: Pick<Env, "DB">, userId: number, input: RedeemInput) {
  const now = nowIso();
  const reference = eventReference(input.redemption_id, now);
  const answer = {
    message: "Voucher redeemed successfully",
    voucher_title: "",
    user_name: "",
    redeemed_at: now,
    redemption_location: input.location,
    purchase_reference: "",
    quantity_redeemed: input.quantity,
    remaining_redemptions: 0,
    merchant_name: "",
    transaction_id: reference,
  };
  const { results, answer: redeemed } = await batchWithAnswer<typeof answer>(
    env,
    [
      env.DB.prepare(
        `UPDATE voucher_redemptions
            SET remaining_redemptions = remaining_redemptions - ?1,
                purchase_status = CASE WHEN remaining_redemptions - ?1 = 0 THEN 'redeemed' ELSE purchase_status END,
                status_changed_at = CASE WHEN remaining_redemptions - ?1 = 0 THEN ?2 ELSE status_changed_at END,
                last_redeemed_at = ?2, updated_at = ?2
          WHERE id = ?3 AND merchant_id = (SELECT id FROM merchants WHERE user_id = ?4 AND is_active = 1)
            AND ${redeemableCondition("voucher_redemptions", { now: "?2", units: "?1" })}`,
      ).bind(input.quantity, now, input.redemption_id, userId),
      env.DB.prepare(
        `INSERT INTO redemption_events (reference, redemption_id, merchant_id, redeemed_by, quantity, remaining_after, location, notes, created_at)
         SELECT ?1, id, merchant_id, ?2, ?3, remaining_redemptions, ?4, ?5, ?6 FROM voucher_redemptions WHERE id = ?7 AND changes() = 1`,
      ).bind(reference, userId, input.quantity, input.location, input.notes, now, input.redemption_id),
    ],
    // The answer's fields from the event just written (one query), returned and, with an
    // Idempotency-Key, stored in the same batch; only if the event row was written.
    {
      status: 200,
      body: answer,
      fillRow: { columns: EVENT_ANSWER_FIELDS, from: EVENT_ANSWER_JOIN, params: [reference] },
      onlyIf: { sql: "EXISTS (SELECT 1 FROM redemption_events WHERE reference = ?)", params: [reference] },
    },
  );
  if (results[1]!.meta.changes === 1 && redeemed) return redeemed;
  throw await whyNotRedeemed(env, userId, input, now);
}

/** Why a redeem at `now` changed nothing, from the purchase as it is now. */
async function whyNotRedeemed(env: Pick<Env, "DB">, userId: number, input: RedeemInput, now: string): Promise<ApiError> {
  const row = await lookupPurchase(env, userId, { kind: "redemption_id", value: input.redemption_id });
  if (row.my_merchant_id === null || !row.merchant_active) return notAMerchant();
  if (row.id === null) return notFound("Voucher purchase");
  if (row.merchant_id !== row.my_merchant_id) return otherBusiness();
  const reason = cannotRedeemReason(row, now);
  if (reason) return new ApiError(400, ErrorCode.NOT_REDEEMABLE, reason.text, { reason_code: reason.code });
  if (input.quantity > row.remaining_redemptions)
    return new ApiError(400, ErrorCode.NOT_REDEEMABLE, `Only ${row.remaining_redemptions} redemption(s) left on this voucher.`, {
      remaining_redemptions: row.remaining_redemptions,
    });
  // It could be redeemed when this read ran: another till changed it in between.
  return new ApiError(409, ErrorCode.NOT_REDEEMABLE, "This voucher was just redeemed elsewhere and has no redemptions left for this request.");
}

/** "RDM-<redemption>-<yyyymmddhhmmss>-<random>": readable like the spec's, unique by the suffix. */
function eventReference(redemptionId: number, now: string) {
  const stamp = now.replace(/\D/g, "").slice(0, 14);
  const suffix = crypto.getRandomValues(new Uint32Array(1))[0]!.toString(36).toUpperCase().padStart(7, "0");
  return `RDM-${redemptionId}-${stamp}-${suffix}`;
}
