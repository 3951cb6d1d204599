import { createRoute } from "@hono/zod-openapi";
import { desc, eq } from "drizzle-orm";
import { createDb } from "../../db/client";
import { apiKeys, users } from "../../db/schema";
import { sha256Hex } from "../../lib/crypto";
import { notFound, validationError } from "../../lib/errors";
import { randomToken } from "../../lib/ids";
import { formatAmount, parseAmount } from "../../lib/money";
import { bearerSecurity, createRouter, errorResponses, jsonBody, jsonContent } from "../../lib/openapi";
import { nowIso } from "../../lib/time";
import { currentUser, requireAuth, requireRole } from "../../middleware/auth";
import { forgetApiKey } from "../../middleware/api-key";
import { forgetUserStatus } from "../../middleware/active-users";
import { idempotency } from "../../middleware/idempotency";
import { walletApply } from "../wallet/wallet.service";
import { ApiKey, ApiKeyCreateBody, ApiKeyCreated, ApiKeyList, CreditBody, CreditResponse, IdParam, UserIdParam, UserStatus, UserStatusParam } from "./admin.schemas";

const tags = ["Admin"];
export const adminRouter = createRouter();
adminRouter.use("*", requireAuth, requireRole("admin"));

adminRouter.use("/wallets/:user_id/credit", idempotency);
adminRouter.openapi(
  createRoute({
    method: "post",
    path: "/wallets/{user_id}/credit",
    tags,
    summary: "Add funds to a user's wallet (ledger entry kind credit)",
    security: bearerSecurity,
    request: { params: UserIdParam, body: jsonBody(CreditBody) },
    responses: { 200: jsonContent(CreditResponse, "Credited"), ...errorResponses(400, 401, 403, 404, 409, 422) },
  }),
  async (c) => {
    const { user_id } = c.req.valid("param");
    const { amount, reason } = c.req.valid("json");
    const minor = parseAmount(amount);
    // A credit of nothing is a mistake, not an operation: it would move no money yet claim a transaction.
    if (minor <= 0) throw validationError("amount must be more than 0.00.", { fields: ["amount"] });
    const user = await createDb(c.env.DB).query.users.findFirst({ where: eq(users.id, user_id), columns: { id: true } });
    if (!user) throw notFound("User");
    const idempotencyKey = c.req.header("idempotency-key") ?? `admin-credit:${crypto.randomUUID()}`;
    const result = await walletApply(c.env, {
      userId: user_id,
      amount: minor,
      kind: "credit",
      idempotencyKey: `credit:${idempotencyKey}`,
      note: `${reason} (by admin ${currentUser(c).username})`,
      transaction: { type: "CREDIT", description: reason },
    });
    if (!result.ok) throw new Error(`wallet credit refused: ${result.reason}`);
    return c.json(
      { user_id, amount: formatAmount(minor), balance: formatAmount(result.balance), transaction_id: result.transactionId, replayed: result.replayed },
      200,
    );
  },
);

adminRouter.openapi(
  createRoute({
    method: "post",
    path: "/api-keys",
    tags,
    summary: "Create a client API key (the key is shown once; only its hash is stored)",
    security: bearerSecurity,
    request: { body: jsonBody(ApiKeyCreateBody) },
    responses: { 201: jsonContent(ApiKeyCreated, "Created"), ...errorResponses(400, 401, 403) },
  }),
  async (c) => {
    const key = `pk_${randomToken(24)}`;
    const { name, scopes } = c.req.valid("json");
    const [row] = await createDb(c.env.DB)
      .insert(apiKeys)
      .values({ name, scopes: [...new Set(scopes ?? [])].join(" "), prefix: key.slice(0, 10), keyHash: await sha256Hex(key), createdBy: currentUser(c).userId, createdAt: nowIso() })
      .returning();
    return c.json({ ...toApiKey(row!), key }, 201);
  },
);

adminRouter.openapi(
  createRoute({
    method: "get",
    path: "/api-keys",
    tags,
    summary: "List client API keys",
    security: bearerSecurity,
    responses: { 200: jsonContent(ApiKeyList, "Keys"), ...errorResponses(401, 403) },
  }),
  async (c) => {
    const rows = await createDb(c.env.DB).select().from(apiKeys).orderBy(desc(apiKeys.id)).limit(500);
    return c.json({ results: rows.map(toApiKey) }, 200);
  },
);

adminRouter.openapi(
  createRoute({
    method: "delete",
    path: "/api-keys/{id}",
    tags,
    summary: "Revoke a client API key",
    security: bearerSecurity,
    request: { params: IdParam },
    responses: { 200: jsonContent(ApiKey, "Revoked"), ...errorResponses(401, 403, 404) },
  }),
  async (c) => {
    const [row] = await createDb(c.env.DB)
      .update(apiKeys)
      .set({ revokedAt: nowIso() })
      .where(eq(apiKeys.id, c.req.valid("param").id))
      .returning();
    if (!row) throw notFound("API key");
    forgetApiKey(row.keyHash);
    return c.json(toApiKey(row), 200);
  },
);

adminRouter.openapi(
  createRoute({
    method: "post",
    path: "/users/{user_id}/{action}",
    tags,
    summary: "Deactivate or reactivate a user: a deactivated user's tokens stop working within half a minute and their sessions end",
    security: bearerSecurity,
    request: { params: UserStatusParam },
    responses: { 200: jsonContent(UserStatus, "The user's status"), ...errorResponses(400, 401, 403, 404) },
  }),
  async (c) => {
    const { user_id, action } = c.req.valid("param");
    const active = action === "activate";
    const now = nowIso();
    const statements = [c.env.DB.prepare("UPDATE users SET is_active = ?, updated_at = ? WHERE id = ? RETURNING id, username").bind(active ? 1 : 0, now, user_id)];
    if (!active) statements.push(c.env.DB.prepare("UPDATE refresh_tokens SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL").bind(now, user_id));
    const [updated] = await c.env.DB.batch<{ id: number; username: string }>(statements);
    const row = updated!.results[0];
    if (!row) throw notFound("User");
    forgetUserStatus(user_id);
    return c.json({ user_id: row.id, username: row.username, is_active: active }, 200);
  },
);

function toApiKey(row: typeof apiKeys.$inferSelect) {
  return { id: row.id, name: row.name, prefix: row.prefix, scopes: row.scopes.split(" ").filter(Boolean), created_at: row.createdAt, revoked_at: row.revokedAt };
}
