import { createRoute } from "@hono/zod-openapi";
import { createRouter, errorResponses, jsonBody, jsonContent } from "../../lib/openapi";
import { completeActivation } from "../activation/activation.service";
import { partnerAuth } from "./partner.auth";
import { CallbackBody, CallbackResult, PartnerActivateBody, PartnerActivation, ReferenceParam, Validation } from "./partner.schemas";
import { partnerActivate, validateReference } from "./partner.service";

const tags = ["Partner"];
const SIGNING =
  "Partner-authenticated: `X-Partner-Timestamp` (unix seconds, within 5 minutes), `X-Partner-Nonce` (8-128 of [A-Za-z0-9._:-], single use) and " +
  "`X-Partner-Signature: sha256=<hex HMAC-SHA256 with PARTNER_API_SECRET of \"<timestamp>.<nonce>.<METHOD>.<path without trailing slash>.<raw body>\">` " +
  "(path as /api/v1/partner/...). Bad or stale signature: 401 INVALID_SIGNATURE; reused nonce: 409 REPLAYED_REQUEST.";

/** Mounted at /api/v1/partner: called by the partner system, not by users. */
export const partnerRouter = createRouter();
partnerRouter.use("*", partnerAuth);

partnerRouter.openapi(
  createRoute({
    method: "post",
    path: "/activate",
    tags,
    summary: "Partner-initiated activation: debit the user's balance and record an active subscription",
    description: `The partner already provisioned the offer. 201 on first use of \`reference\`, 200 when it is repeated (same result, one debit). ${SIGNING}`,
    request: { body: jsonBody(PartnerActivateBody) },
    responses: { 201: jsonContent(PartnerActivation, "Activated"), 200: jsonContent(PartnerActivation, "Already activated with this reference"), ...errorResponses(400, 401, 404, 409) },
  }),
  async (c) => {
    const { replayed, body } = await partnerActivate(c.env, c.req.valid("json"));
    return c.json(body, replayed ? 200 : 201);
  },
);

partnerRouter.openapi(
  createRoute({
    method: "get",
    path: "/validate/{reference}",
    tags,
    summary: "Check a subscription reference: valid while active and not yet ended",
    description: SIGNING,
    request: { params: ReferenceParam },
    responses: { 200: jsonContent(Validation, "Reference"), ...errorResponses(401, 404, 409) },
  }),
  async (c) => c.json(await validateReference(c.env, c.req.valid("param").reference), 200),
);

partnerRouter.openapi(
  createRoute({
    method: "post",
    path: "/callback",
    tags,
    summary: "Asynchronous activation result (after the partner answered 202 to our request)",
    description: `Completes a PENDING activation exactly as the queue consumer would: SUCCESS activates the subscription; FAILED fails it and refunds once. ${SIGNING}`,
    request: { body: jsonBody(CallbackBody) },
    responses: { 200: jsonContent(CallbackResult, "Recorded"), ...errorResponses(400, 401, 404, 409) },
  }),
  async (c) => {
    const body = c.req.valid("json");
    const outcome =
      body.status === "SUCCESS"
        ? ({ status: "SUCCESS" } as const)
        : ({ status: "FAILED", reason: body.reason ? `The partner refused the activation: ${body.reason}` : "The partner refused the activation." } as const);
    const { applied, status, cancelRequested } = await completeActivation(c.env, body.transaction_id, outcome);
    return c.json({ transaction_id: body.transaction_id, status, applied, ...(cancelRequested ? { cancel_requested: true } : {}) }, 200);
  },
);
