import { z } from "@hono/zod-openapi";
import { PURCHASE_STATUSES } from "../../db/schema";
import { PaginationQuery } from "../../lib/pagination";

export const UserVouchersQuery = PaginationQuery.extend({
  purchase_status: z.enum(PURCHASE_STATUSES).optional(),
  is_gift_voucher: z.enum(["true", "false"]).transform((v) => v === "true").optional(),
});

export const UserVoucher = z
  .object({
    id: z.number().int().openapi({ description: "The redemption (purchase) id" }),
    voucher_id: z.number().int(),
    voucher_title: z.string(),
    merchant_name: z.string(),
    voucher_type: z.string().openapi({ example: "percentage" }),
    voucher_value: z.string(),
    purchased_at: z.string(),
    expiry_date: z.string(),
    purchase_status: z.enum(PURCHASE_STATUSES),
    purchase_reference: z.string(),
    is_gift_voucher: z.boolean(),
    can_redeem: z.boolean(),
    total_redemptions: z.number().int(),
    remaining_redemptions: z.number().int(),
    image: z.string().nullable(),
  })
  .openapi("UserVoucher");

export const UserVoucherPage = z.object({
  count: z.number().int(),
  next: z.string().nullable(),
  previous: z.string().nullable(),
  results: z.array(UserVoucher),
});

export const QrQuery = z.object({ format: z.enum(["json", "svg"]).optional() });
export const RedemptionIdParam = z.object({ id: z.coerce.number().int().positive() });

export const QrCodeResponse = z
  .object({
    message: z.string(),
    voucher_details: z.object({
      id: z.number().int(),
      title: z.string(),
      merchant_name: z.string(),
      voucher_type: z.string(),
      voucher_value: z.string(),
      purchased_at: z.string(),
      expiry_date: z.string(),
      remaining_redemptions: z.number().int(),
    }),
    qr_code_data: z.object({ purchase_reference: z.string(), redemption_id: z.number().int(), voucher_uuid: z.string() }),
    qr_code_svg_url: z.string().openapi({ description: "The QR code as an SVG image" }),
    redemption_instructions: z.string(),
  })
  .openapi("VoucherQrCode");

/** The QR code as an SVG image. */
export const svgContent = { "image/svg+xml": { schema: z.string() } };
