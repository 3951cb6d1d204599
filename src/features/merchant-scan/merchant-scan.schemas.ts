import { z } from "@hono/zod-openapi";
import { CANNOT_REDEEM_REASONS } from "../vouchers/redeemable";

export const ScanBody = z
  .strictObject({
    qr_data: z
      .string()
      .min(1)
      .max(2000)
      .openapi({ example: "VCH-12345678", description: "VCH-/GFT- reference, redemption id, redemption UUID or the QR's JSON" }),
  })
  .openapi("ScanRequest");

const VoucherDetails = z.object({
  id: z.number().int(),
  title: z.string(),
  voucher_type: z.string(),
  voucher_value: z.string(),
  user_info: z.object({ name: z.string(), phone: z.string().nullable(), is_original_purchaser: z.boolean() }),
  purchased_at: z.string(),
  expiry_date: z.string(),
  remaining_redemptions: z.number().int(),
  purchase_reference: z.string(),
  redemption_id: z.number().int(),
  is_gift_card: z.boolean(),
});

export const ScanResponse = z
  .object({
    message: z.string(),
    voucher_details: VoucherDetails,
    can_redeem: z.boolean(),
    reason: z.string().optional().openapi({ description: "Why it cannot be redeemed (only when can_redeem is false)" }),
    reason_code: z.enum(CANNOT_REDEEM_REASONS).optional(),
  })
  .openapi("ScanResponse");

export const RedeemBody = z
  .strictObject({
    redemption_id: z.number().int().positive().openapi({ example: 456 }),
    location: z.string().trim().max(200).default("").openapi({ example: "Main Store" }),
    notes: z.string().trim().max(1000).default("").openapi({ example: "Customer was very happy" }),
    quantity: z.number().int().min(1).max(10_000).default(1).openapi({ example: 1 }),
  })
  .openapi("RedeemRequest");

export const RedeemResponse = z
  .object({
    message: z.string(),
    voucher_title: z.string(),
    user_name: z.string(),
    redeemed_at: z.string(),
    redemption_location: z.string(),
    purchase_reference: z.string(),
    quantity_redeemed: z.number().int(),
    remaining_redemptions: z.number().int(),
    merchant_name: z.string(),
    transaction_id: z.string(),
  })
  .openapi("RedeemResponse");
