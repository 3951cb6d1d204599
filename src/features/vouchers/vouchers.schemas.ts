import { z } from "@hono/zod-openapi";
import { parseAmount } from "../../lib/money";

const AMOUNT = /^\d{1,12}(\.\d{1,2})?$/;
/** "50.00" or 50: stored as integer hundredths, never as a float. */
const Decimal = z
  .union([z.number(), z.string()])
  .refine((v) => AMOUNT.test(String(v).trim()), 'must be a non-negative number with at most two decimals, like "100.00"')
  .transform((v) => parseAmount(v))
  .openapi({ type: "string", example: "50.00" });
const IsoTime = z.iso.datetime({ offset: true }).transform((v) => new Date(v).toISOString());

const VoucherFields = {
  title: z.string().trim().min(1).max(200).openapi({ example: "50% Off Coffee" }),
  message: z.string().trim().max(2000).optional().openapi({ example: "Get 50% off on any coffee" }),
  terms_conditions: z.string().trim().max(5000).optional().openapi({ example: "Valid only on weekdays" }),
  category: z.number().int().positive().nullable().optional().openapi({ description: "Category id" }),
  count: z.number().int().min(0).max(1_000_000_000).nullable().optional().openapi({ description: "Stock; null or absent = unlimited", example: 100 }),
  voucher_type: z.union([z.literal(1), z.literal(2), z.literal(3)]).openapi({ description: "1 percentage, 2 flat, 3 product", example: 1 }),
  percentage_value: Decimal.optional(),
  percentage_min_bill: Decimal.optional(),
  flat_amount: Decimal.optional(),
  flat_min_bill: Decimal.optional(),
  product_name: z.string().trim().min(1).max(200).optional(),
  product_min_bill: Decimal.optional(),
  redemptions_per_purchase: z.number().int().min(1).max(1000).optional().openapi({ example: 1 }),
  validity_days: z.number().int().min(1).max(3650).optional().openapi({ description: "Days a purchase stays usable", example: 365 }),
  valid_from: IsoTime.nullable().optional(),
  valid_until: IsoTime.nullable().optional().openapi({ description: "No sales after this; purchases expire by then at the latest" }),
  is_gift_card: z.boolean().optional(),
  max_shares_per_purchase: z
    .number()
    .int()
    .min(1)
    .max(20)
    .optional()
    .openapi({ description: "Gift cards: how many people one purchase may be shared to (default 5, at most 20); frozen on each purchase", example: 5 }),
  is_active: z.boolean().optional(),
};

export const VoucherCreateBody = z.strictObject(VoucherFields).openapi("VoucherCreate");
export const VoucherPatchBody = z
  .strictObject({ ...VoucherFields, title: VoucherFields.title.optional(), voucher_type: VoucherFields.voucher_type.optional() })
  .openapi("VoucherUpdate");
export type VoucherCreateInput = z.infer<typeof VoucherCreateBody>;
export type VoucherPatchInput = z.infer<typeof VoucherPatchBody>;

/** Documents the multipart form; the handler converts its text fields and validates them with the JSON schema. */
export const VoucherForm = z
  .looseObject({
    image: z.any().optional().openapi({ type: "string", format: "binary", description: "JPEG, PNG, WebP or GIF, at most 2 MB" }),
  })
  .openapi({ description: "The JSON body's fields as form fields, plus `image`" });

const Money = z.string().nullable().openapi({ example: "50.00" });
export const Voucher = z
  .object({
    id: z.number().int(),
    uuid: z.string(),
    title: z.string(),
    message: z.string(),
    terms_conditions: z.string(),
    voucher_type: z.number().int(),
    voucher_type_name: z.string(),
    voucher_value: z.string(),
    percentage_value: Money,
    percentage_min_bill: Money,
    flat_amount: Money,
    flat_min_bill: Money,
    product_name: z.string().nullable(),
    product_min_bill: Money,
    count: z.number().int().nullable(),
    sold_count: z.number().int(),
    claimed_count: z.number().int().openapi({ description: "Claimed gift-card copies; sold_count + claimed_count never exceeds count" }),
    max_shares_per_purchase: z.number().int(),
    redemptions_per_purchase: z.number().int(),
    validity_days: z.number().int(),
    valid_from: z.string().nullable(),
    valid_until: z.string().nullable(),
    is_gift_card: z.boolean(),
    is_active: z.boolean(),
    is_featured: z.boolean(),
    image: z.string().nullable(),
    merchant: z.number().int(),
    category: z.number().int().nullable(),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .openapi("Voucher");

export const VoucherIdParam = z.object({ id: z.coerce.number().int().positive() });

export const VoucherDeleted = z
  .object({ message: z.string(), deleted: z.boolean(), deactivated: z.boolean(), voucher: Voucher.nullable() })
  .openapi("VoucherDeleted");

const Performer = z.object({
  id: z.number().int(),
  title: z.string(),
  purchase_count: z.number().int(),
  redemption_count: z.number().int(),
  popularity_score: z.number().int(),
});

export const VoucherStatistics = z
  .object({
    total_vouchers: z.number().int(),
    total_purchases: z.number().int(),
    total_redemptions: z.number().int(),
    redemption_rate: z.number(),
    recent_activity: z.object({ purchases_last_30_days: z.number().int(), redemptions_last_30_days: z.number().int() }),
    top_performing_vouchers: z.array(Performer),
  })
  .openapi("VoucherStatistics");

export const PopularVouchers = z
  .object({
    popular_vouchers: z.array(
      Performer.extend({ merchant: z.string(), voucher_type: z.string(), category: z.string().nullable(), image: z.string().nullable() }),
    ),
    total_count: z.number().int(),
    message: z.string(),
  })
  .openapi("PopularVouchers");
