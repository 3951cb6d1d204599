import { z } from "@hono/zod-openapi";
import { TRANSACTION_STATUSES, TRANSACTION_TYPES } from "../../db/schema";
import { PaginationQuery } from "../../lib/pagination";
import { Subscription } from "../offers/offers.schemas";

export const Account = z
  .object({
    balance: z.string().openapi({ example: "100.00" }),
    active_subscriptions: z.array(Subscription),
  })
  .openapi("Account");

export const Transaction = z
  .object({
    transaction_id: z.string(),
    type: z.string().openapi({ example: "ACTIVATION" }),
    status: z.enum(TRANSACTION_STATUSES),
    amount: z.string().openapi({ example: "20.00" }),
    offer_id: z.number().int().nullable(),
    reference: z.string().nullable(),
    description: z.string(),
    failure_reason: z.string().nullable(),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .openapi("Transaction");

export const TransactionListQuery = PaginationQuery.extend({
  type: z.enum(TRANSACTION_TYPES).optional(),
  status: z.enum(TRANSACTION_STATUSES).optional(),
});

export const TransactionIdParam = z.object({
  transaction_id: z.string().min(1).max(64).openapi({ param: { name: "transaction_id", in: "path" } }),
});
