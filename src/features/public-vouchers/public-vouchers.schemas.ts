import { z } from "@hono/zod-openapi";
import { PaginationQuery } from "../../lib/pagination";

export const BrowseQuery = PaginationQuery.extend({
  category: z.coerce.number().int().positive().optional().openapi({ description: "Category id" }),
  merchant: z.coerce.number().int().positive().optional().openapi({ description: "Merchant id" }),
  voucher_type: z
    .union([z.enum(["1", "2", "3"]).transform(Number), z.enum(["percentage", "flat", "product"]).transform((t) => ({ percentage: 1, flat: 2, product: 3 })[t])])
    .optional()
    .openapi({ description: "1/percentage, 2/flat or 3/product", type: "string" }),
  is_gift_card: z.enum(["true", "false"]).transform((v) => v === "true").optional(),
  search: z.string().trim().max(100).optional().openapi({ description: "Matches title, message or merchant business name" }),
});
export type BrowseQuery = z.infer<typeof BrowseQuery>;

export const PublicVoucher = z
  .object({
    id: z.number().int(),
    title: z.string(),
    message: z.string(),
    merchant: z.number().int(),
    merchant_name: z.string(),
    category: z.number().int().nullable(),
    voucher_type: z.number().int(),
    voucher_type_name: z.string(),
    voucher_value: z.string(),
    purchase_cost: z.string().openapi({ example: "10 points" }),
    is_gift_card: z.boolean(),
    image: z.string().nullable(),
    valid_until: z.string().nullable(),
    is_purchased: z.boolean().openapi({ description: "The signed-in caller holds a purchase of it (false when anonymous)" }),
    can_purchase: z.boolean().openapi({ description: "In stock, on sale, and (signed in) the caller's balance covers the cost" }),
  })
  .openapi("PublicVoucher");

export const PublicVoucherPage = z.object({
  count: z.number().int(),
  next: z.string().nullable(),
  previous: z.string().nullable(),
  results: z.array(PublicVoucher),
});

export const FeaturedVouchers = z
  .object({
    featured_vouchers: z.array(PublicVoucher.extend({ popularity_score: z.number().int() })),
    total_count: z.number().int(),
    message: z.string(),
  })
  .openapi("FeaturedVouchers");

export const TrendingVouchers = z
  .object({
    trending_vouchers: z.array(PublicVoucher.extend({ recent_purchases: z.number().int() })),
    total_count: z.number().int(),
    period: z.string(),
    message: z.string(),
  })
  .openapi("TrendingVouchers");

export const PublicVoucherIdParam = z.object({ id: z.coerce.number().int().positive() });
