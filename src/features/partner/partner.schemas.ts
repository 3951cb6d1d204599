import { z } from "@hono/zod-openapi";
import { Subscription } from "../offers/offers.schemas";

export const PartnerActivateBody = z
  .strictObject({
    user_id: z.number().int().positive(),
    offer_id: z.number().int().positive(),
    reference: z.string().regex(/^[A-Za-z0-9._:-]{4,64}$/).openapi({ description: "The partner's unique reference for this activation; repeating it replays the first result" }),
  })
  .openapi("PartnerActivateRequest");
export const PartnerActivation = z
  .object({ transaction_id: z.string(), status: z.literal("SUCCESS"), amount: z.string(), reference: z.string(), subscription: Subscription })
  .openapi("PartnerActivation");
export const Validation = z
  .object({
    reference: z.string(),
    valid: z.boolean(),
    status: z.string(),
    user_id: z.number().int(),
    offer_id: z.number().int(),
    offer_name: z.string(),
    transaction_id: z.string(),
    starts_at: z.string().nullable(),
    ends_at: z.string().nullable(),
  })
  .openapi("PartnerValidation");
export const CallbackBody = z
  .strictObject({
    transaction_id: z.string().min(1).max(64),
    status: z.enum(["SUCCESS", "FAILED"]),
    reason: z.string().max(500).optional(),
    partner_reference: z.string().max(128).optional(),
  })
  .openapi("PartnerCallback");
export const CallbackResult = z
  .object({
    transaction_id: z.string(),
    status: z.string(),
    applied: z.boolean().openapi({ description: "false when the activation was already final (a duplicate callback changes nothing)" }),
    cancel_requested: z.boolean().optional().openapi({
      description: "true when a SUCCESS arrives for an activation we already failed and refunded: we ask you to cancel it (signed POST <PARTNER_API_URL>/cancel, retried until a 2xx)",
    }),
  })
  .openapi("PartnerCallbackResult");
export const ReferenceParam = z.object({ reference: z.string().min(1).max(64).openapi({ param: { name: "reference", in: "path" } }) });
