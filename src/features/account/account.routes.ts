import { createRoute } from "@hono/zod-openapi";
import { publicRequestUrl } from "../../lib/public-url";
import { bearerSecurity, createRouter, errorResponses, jsonContent } from "../../lib/openapi";
import { PaginatedSchema, pageWindow, paginated } from "../../lib/pagination";
import { currentUser, requireAuth } from "../../middleware/auth";
import { Account, Transaction, TransactionIdParam, TransactionListQuery } from "./account.schemas";
import { getAccount, getTransaction, listTransactions } from "./account.service";

const tags = ["Account"];

/** Mounted at /api/v1/account. */
export const accountRouter = createRouter();
accountRouter.use("*", requireAuth);

accountRouter.openapi(
  createRoute({
    method: "get",
    path: "/",
    tags,
    summary: "Balance and active subscriptions",
    security: bearerSecurity,
    responses: { 200: jsonContent(Account, "Account"), ...errorResponses(401) },
  }),
  async (c) => c.json(await getAccount(c.env, currentUser(c).userId), 200),
);

accountRouter.openapi(
  createRoute({
    method: "get",
    path: "/transactions",
    tags,
    summary: "The caller's transactions, newest first; filter by type and status",
    security: bearerSecurity,
    request: { query: TransactionListQuery },
    responses: { 200: jsonContent(PaginatedSchema(Transaction), "Transactions"), ...errorResponses(400, 401) },
  }),
  async (c) => {
    const query = c.req.valid("query");
    const { count, rows } = await listTransactions(c.env, currentUser(c).userId, query, pageWindow(query));
    return c.json(paginated(publicRequestUrl(c.env, c.req.url), query, count, rows), 200);
  },
);

accountRouter.openapi(
  createRoute({
    method: "get",
    path: "/transactions/{transaction_id}",
    tags,
    summary: "One of the caller's transactions (another user's is 404)",
    security: bearerSecurity,
    request: { params: TransactionIdParam },
    responses: { 200: jsonContent(Transaction, "Transaction"), ...errorResponses(401, 404) },
  }),
  async (c) => c.json(await getTransaction(c.env, currentUser(c).userId, c.req.valid("param").transaction_id), 200),
);
