import { z } from "@hono/zod-openapi";

export const ActivationBody = z.strictObject({ offer_id: z.number().int().positive().openapi({ example: 1 }) }).openapi("ActivationRequest");
export const ActivationAccepted = z
  .object({ transaction_id: z.string().openapi({ example: "3f1c0f0e-4c5e-4b9a-9d55-0d6f7b0a9e11" }), status: z.string().openapi({ example: "PENDING" }) })
  .openapi("ActivationAccepted");
export const ActivationStatus = z
  .object({
    transaction_id: z.string(),
    status: z.string().openapi({ example: "SUCCESS", description: "PENDING, SUCCESS or FAILED" }),
    created_at: z.string(),
    updated_at: z.string(),
    amount: z.string().openapi({ example: "20.00" }),
    offer_id: z.number().int().nullable(),
  })
  .openapi("ActivationStatus");
export const TransactionIdParam = z.object({ transaction_id: z.string().min(1).max(64).openapi({ param: { name: "transaction_id", in: "path" } }) });
