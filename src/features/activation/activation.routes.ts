import { createRoute } from "@hono/zod-openapi";
import { bearerSecurity, createRouter, errorResponses, jsonBody, jsonContent } from "../../lib/openapi";
import { currentUser, requireAuth } from "../../middleware/auth";
import { idempotencyInBatch } from "../../middleware/idempotency";
import { ActivationAccepted, ActivationBody, ActivationStatus, TransactionIdParam } from "./activation.schemas";
import { activationStatus, requestActivation } from "./activation.service";

const tags = ["Activation"];

/** Mounted at /api/v1/activation. */
export const activationRouter = createRouter();
activationRouter.use("*", requireAuth);

activationRouter.openapi(
  createRoute({
    method: "post",
    path: "/",
    tags,
    summary: "Activate an offer: debit now, activate with the partner asynchronously",
    description:
      "Debits the offer's price, records a PENDING transaction and subscription, caches `transaction:<id>` in Redis and queues the partner call. " +
      "400 `offer_id is required`; 404 for an unknown or inactive offer; 400 `Insufficient balance` with nothing debited. " +
      "Accepts `Idempotency-Key`: the same key replays the first answer with one debit; the same key with another body is 422.",
    security: bearerSecurity,
    middleware: [idempotencyInBatch] as const,
    request: { body: jsonBody(ActivationBody) },
    responses: { 202: jsonContent(ActivationAccepted, "Accepted; poll the status"), ...errorResponses(400, 401, 404, 409, 422) },
  }),
  async (c) => {
    const result = await requestActivation(c.env, {
      userId: currentUser(c).userId,
      offerId: c.req.valid("json").offer_id,
      idempotencyKey: c.req.header("idempotency-key"),
    });
    return c.json(result, 202);
  },
);

activationRouter.openapi(
  createRoute({
    method: "get",
    path: "/status/{transaction_id}",
    tags,
    summary: "Activation status: from the Redis hash, or from D1 when Redis misses or is down",
    security: bearerSecurity,
    request: { params: TransactionIdParam },
    responses: { 200: jsonContent(ActivationStatus, "Status"), ...errorResponses(401, 404) },
  }),
  async (c) => c.json(await activationStatus(c.env, currentUser(c).userId, c.req.valid("param").transaction_id), 200),
);
