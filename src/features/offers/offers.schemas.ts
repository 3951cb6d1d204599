import { z } from "@hono/zod-openapi";
import { PaginatedSchema } from "../../lib/pagination";
import { SANDBOX_OUTCOMES } from "../../db/schema/offers";

const Amount = z.union([z.string(), z.number()]).openapi({ example: "20.00", description: "Decimal with at most two places" });

export const Offer = z
  .object({
    id: z.number().int(),
    name: z.string(),
    description: z.string(),
    price: z.string().openapi({ example: "20.00" }),
    duration_days: z.number().int(),
    is_active: z.boolean(),
    partner: z.string(),
    sandbox_outcome: z
      .enum(SANDBOX_OUTCOMES)
      .optional()
      .openapi({ description: "Admins only: what the sandbox partner answers when PARTNER_API_URL is unset" }),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .openapi("Offer");

export const OfferCreateBody = z
  .strictObject({
    name: z.string().trim().min(1).max(200),
    description: z.string().max(5000).optional(),
    price: Amount,
    duration_days: z.number().int().min(1).max(3650),
    is_active: z.boolean().optional(),
    partner: z.string().trim().max(100).optional(),
    sandbox_outcome: z.enum(SANDBOX_OUTCOMES).optional(),
  })
  .openapi("OfferCreate");

export const OfferPatchBody = OfferCreateBody.partial().openapi("OfferUpdate");

export const OfferIdParam = z.object({ offer_id: z.coerce.number().int().positive().openapi({ param: { name: "offer_id", in: "path" } }) });

export const OfferListQuery = z.object({
  include_inactive: z
    .enum(["true", "false"])
    .optional()
    .openapi({ description: "Admins only: also list deactivated offers" }),
});

export const Subscription = z
  .object({
    id: z.number().int(),
    reference: z.string(),
    offer_id: z.number().int(),
    offer_name: z.string(),
    status: z.enum(["pending", "active", "failed", "expired"]),
    transaction_id: z.string(),
    starts_at: z.string().nullable(),
    ends_at: z.string().nullable(),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .openapi("Subscription");

export const RenewBody = z
  .strictObject({ subscription_id: z.number().int().positive().openapi({ example: 1 }) })
  .openapi("RenewRequest");

export const RenewResponse = z
  .object({
    transaction_id: z.string(),
    status: z.literal("SUCCESS"),
    amount: z.string().openapi({ example: "20.00" }),
    subscription: Subscription,
  })
  .openapi("RenewResponse");

export const OfferList = z.array(Offer);
export const ExpiringSubscriptionPage = PaginatedSchema(Subscription).extend({ window_days: z.number() });
