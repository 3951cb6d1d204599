import { createRoute, z } from "@hono/zod-openapi";
import { createRouter, errorResponses, jsonBody, jsonContent } from "../../lib/openapi";
import { completeActivation } from "../activation/activation.service";
import { Subscription } from "../offers/offers.schemas";
import { partnerAuth } from "./partner.auth";
import { partnerActivate, validateReference } from "./partner.service";

const tags = ["Partner"];
const SIGNING =
  "Partner-authenticated: `X-Partner-Timestamp` (unix seconds, within 5 minutes), `X-Partner-Nonce` (8-128 of [A-Za-z0-9._:-], single use) and " +
  "`X-Partner-Signature: sha256=<hex HMAC-SHA256 with PARTNER_API_SECRET of \"<timestamp>.<nonce>.<METHOD>.<path without trailing slash>.<raw body>\">` " +
  "(path as /api/v1/partner/...). Bad or stale signature: 401 INVALID_SIGNATURE; reused nonce: 409 REPLAYED_REQUEST.";

const PartnerActivateBody = z
  .strictObject({
    user_id: z.number().int().positive(),
    offer_id: z.number().int().positive(),
    reference: z.string().regex(/^[A-Za-z0-9._:-]{4,64}$/).openapi({ description: "The partner's unique reference for this activation; repeating it replays the first result" }),
  })
  .openapi("PartnerActivateRequest");
const PartnerActivation = z
  .object({ transaction_id: z.string(), status: z.literal("SUCCESS"), amount: z.string(), reference: z.string(), subscription: Subscription })
  .openapi("PartnerActivation");
const Validation = z
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
const CallbackBody = z
  .strictObject({
    transaction_id: z.string().min(1).max(64),
    status: z.enum(["SUCCESS", "FAILED"]),
    reason: z.string().max(500).optional(),
    partner_reference: z.string().max(128).optional(),
  })
  .openapi("PartnerCallback");
const CallbackResult = z
  .object({
    transaction_id: z.string(),
    status: z.string(),
    applied: z.boolean().openapi({ description: "false when the activation was already final (a duplicate callback changes nothing)" }),
    cancel_requested: z.boolean().optional().openapi({
      description: "true when a SUCCESS arrives for an activation we already failed and refunded: we ask you to cancel it (signed POST <PARTNER_API_URL>/cancel, retried until a 2xx)",
    }),
  })
  .openapi("PartnerCallbackResult");

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
    request: { params: z.object({ reference: z.string().min(1).max(64).openapi({ param: { name: "reference", in: "path" } }) }) },
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
