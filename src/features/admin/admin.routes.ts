import { createRoute } from "@hono/zod-openapi";
import { publicRequestUrl } from "../../lib/public-url";
import { bearerSecurity, createRouter, errorResponses, jsonBody, jsonContent } from "../../lib/openapi";
import { currentUser, requireAuth, requireRole } from "../../middleware/auth";
import { idempotency } from "../../middleware/idempotency";
import {
  ApiKey, ApiKeyCreateBody, ApiKeyCreated, ApiKeyList, CreditBody, CreditResponse, DeadLetter, DeadLetterPage, DeadLetterQuery, IdParam, UserIdParam, UserStatus, UserStatusParam,
} from "./admin.schemas";
import { createApiKey, creditWallet, dismissDeadLetter, listApiKeys, listDeadLetters, revokeApiKey, setUserActive } from "./admin.service";

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
    const { amount, reason } = c.req.valid("json");
    const credited = await creditWallet(c.env, {
      userId: c.req.valid("param").user_id,
      amount,
      reason,
      adminName: currentUser(c).username,
      idempotencyKey: c.req.header("idempotency-key"),
    });
    return c.json(credited, 200);
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
  async (c) => c.json(await createApiKey(c.env, currentUser(c).userId, c.req.valid("json")), 201),
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
  async (c) => c.json(await listApiKeys(c.env), 200),
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
  async (c) => c.json(await revokeApiKey(c.env, c.req.valid("param").id), 200),
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
    return c.json(await setUserActive(c.env, user_id, action === "activate"), 200);
  },
);

adminRouter.openapi(
  createRoute({
    method: "get",
    path: "/dead-letters",
    tags,
    summary: "Queue messages set aside because no consumer could route or parse them, newest first",
    description:
      "Such a message is acknowledged only once it is kept here (and logged), so nothing is lost silently. The detailed health view counts them (`components.queues.backlog.dead_letters`).",
    security: bearerSecurity,
    request: { query: DeadLetterQuery },
    responses: { 200: jsonContent(DeadLetterPage, "A page of dead letters"), ...errorResponses(400, 401, 403) },
  }),
  async (c) => c.json(await listDeadLetters(c.env, publicRequestUrl(c.env, c.req.url), c.req.valid("query")), 200),
);

adminRouter.openapi(
  createRoute({
    method: "delete",
    path: "/dead-letters/{id}",
    tags,
    summary: "Dismiss a dead letter once it has been dealt with (its message is not sent again)",
    security: bearerSecurity,
    request: { params: IdParam },
    responses: { 200: jsonContent(DeadLetter, "Dismissed"), ...errorResponses(401, 403, 404) },
  }),
  async (c) => c.json(await dismissDeadLetter(c.env, c.req.valid("param").id), 200),
);
