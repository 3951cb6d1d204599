import { z } from "@hono/zod-openapi";

export const PurchaseBody = z.strictObject({ voucher_id: z.number().int().positive().openapi({ example: 123 }) }).openapi("VoucherPurchaseRequest");

export const PurchaseResponse = z
  .object({
    message: z.string(),
    voucher_id: z.number().int(),
    voucher_title: z.string(),
    purchase_cost: z.number().openapi({ example: 10.0 }),
    remaining_balance: z.number().openapi({ example: 90.0 }),
    redemption_id: z.number().int(),
    purchase_reference: z.string().openapi({ example: "VCH-K7M2Q9XA" }),
    expiry_date: z.string(),
    transaction_id: z.string().nullable(),
  })
  .openapi("VoucherPurchaseResponse");

export const CancelBody = z
  .strictObject({
    redemption_id: z.number().int().positive().openapi({ example: 456 }),
    reason: z.string().trim().max(500).optional().openapi({ example: "Changed my mind" }),
  })
  .openapi("VoucherCancelRequest");

export const CancelResponse = z
  .object({
    message: z.string(),
    voucher_title: z.string(),
    purchase_reference: z.string(),
    purchase_status: z.literal("cancelled"),
    transaction_id: z.string().nullable().openapi({ description: "The purchase's transaction (a cancel moves no money)" }),
  })
  .openapi("VoucherCancelResponse");

export const RefundResponse = z
  .object({
    message: z.string(),
    voucher_title: z.string(),
    purchase_reference: z.string(),
    refund_amount: z.number(),
    remaining_balance: z.number(),
    purchase_status: z.literal("refunded"),
    transaction_id: z.string().nullable().openapi({ description: "The refund's transaction" }),
  })
  .openapi("VoucherRefundResponse");
