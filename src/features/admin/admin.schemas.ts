import { z } from "@hono/zod-openapi";
import { PaginatedSchema, PaginationQuery } from "../../lib/pagination";

export const CreditBody = z
  .strictObject({
    amount: z.union([z.string(), z.number()]).openapi({ example: "100.00", description: "Points, more than 0.00, at most two decimals; 0 or negative is 400 VALIDATION_ERROR" }),
    reason: z.string().trim().min(1).max(500).openapi({ example: "Welcome credit" }),
  })
  .openapi("WalletCreditRequest");

export const CreditResponse = z
  .object({
    user_id: z.number().int(),
    amount: z.string(),
    balance: z.string(),
    transaction_id: z.string().nullable(),
    replayed: z.boolean(),
  })
  .openapi("WalletCreditResponse");

/** What a key may do beyond identifying its client. */
export const API_KEY_SCOPES = ["notifications:send"] as const;
const Scopes = z
  .array(z.enum(API_KEY_SCOPES))
  .max(API_KEY_SCOPES.length)
  .openapi({ description: "`notifications:send`: send free text to any recipient (otherwise only admins may)" });
export const ApiKeyCreateBody = z.strictObject({ name: z.string().trim().min(1).max(100), scopes: Scopes.optional() }).openapi("ApiKeyCreate");
export const ApiKey = z
  .object({ id: z.number().int(), name: z.string(), prefix: z.string(), scopes: z.array(z.string()), created_at: z.string(), revoked_at: z.string().nullable() })
  .openapi("ApiKey");
export const ApiKeyCreated = ApiKey.extend({ key: z.string().openapi({ description: "Shown once; store it now" }) }).openapi("ApiKeyCreated");
export const UserIdParam = z.object({ user_id: z.coerce.number().int().positive() });
export const IdParam = z.object({ id: z.coerce.number().int().positive() });
export const UserStatus = z
  .object({ user_id: z.number().int(), username: z.string(), is_active: z.boolean() })
  .openapi("UserStatus");

export const ApiKeyList = z.object({ results: z.array(ApiKey) });
export const UserStatusParam = UserIdParam.extend({ action: z.enum(["deactivate", "activate"]) });

export const DeadLetter = z
  .object({
    id: z.number().int(),
    queue: z.string(),
    message_id: z.string(),
    body: z.string().openapi({ description: "The message body as JSON text (cut at 10,000 characters)" }),
    reason: z.string().openapi({ example: "message does not parse: transactionId Invalid input" }),
    attempts: z.number().int(),
    created_at: z.string(),
  })
  .openapi("DeadLetter");
export const DeadLetterPage = PaginatedSchema(DeadLetter).openapi("DeadLetterPage");
export const DeadLetterQuery = PaginationQuery.extend({
  queue: z.string().trim().min(1).max(100).optional().openapi({ description: "Only this queue's messages", example: "perks-activations" }),
});
