import { createRoute } from "@hono/zod-openapi";
import { publicRequestUrl } from "../../lib/public-url";
import { bearerSecurity, createRouter, errorResponses, jsonBody, jsonContent } from "../../lib/openapi";
import { currentUser, requireAuth } from "../../middleware/auth";
import { idempotencyInBatch } from "../../middleware/idempotency";
import { failureCharged } from "../../middleware/rate-limit";
import { RedeemBody, RedeemResponse, ScanBody, ScanResponse } from "./merchant-scan.schemas";
import { redeemVoucher, scanVoucher } from "./merchant-scan.service";
import { listRedemptions, RedemptionEventPage, RedemptionsQuery } from "./merchant-scan.history";
import { isUnguessable, parseQrData } from "./qr-data";

const tags = ["Merchant scan"];
export const merchantScanRouter = createRouter();
/**
 * The till's limit (SCAN_LIMITER, per merchant user) stops codes being guessed, so it charges only
 * what could help a guesser, over scan and redeem together: a real customer's code scanned at a
 * busy till is never counted. A blocked caller is refused before validation, before a redeem's
 * Idempotency-Key claim (so its 429 is never stored as the key's answer) and before any lookup.
 */
const tillLimit = failureCharged("SCAN_LIMITER", "scan");
merchantScanRouter.use("*", requireAuth);
merchantScanRouter.use("/scan", tillLimit.refuseBlocked);
// A redeem that tells whether an id exists (unknown, another business's) is a guess; a successful
// one needed a real, redeemable purchase of the caller's own. Judged on the final answer, after the
// Idempotency-Key middleware, so the limit's 429 is never stored as a key's answer.
merchantScanRouter.use("/redeem", tillLimit.around((c) => c.res.status !== 404 && c.res.status !== 403), idempotencyInBatch);

const TILL_LIMIT_TEXT =
  "The till's limit (120 a minute per merchant user, shared by scan and redeem) counts only what could help someone guess codes: " +
  "every scan but one that finds the caller's own purchase by its reference, UUID or the QR's JSON carrying them " +
  "(a miss, another business's code, an unclaimed gift card, a voucher UUID, garbage, a non-merchant's scan, and every lookup by a redemption id, found or not), " +
  "and every redeem answered 404 (unknown purchase) or 403. The request the limit refuses answers 429 with `Retry-After`, " +
  "and the caller is then refused every scan and redeem, correct codes included, until that time has passed.";

merchantScanRouter.openapi(
  createRoute({
    method: "post",
    path: "/scan",
    tags,
    summary: "Look up a purchase from its QR code (own business only) and say whether it can be redeemed",
    description: `Needs an access token. Merchant only (403 otherwise), and only the caller's own business's purchases (403 for another's). ${TILL_LIMIT_TEXT}`,
    security: bearerSecurity,
    request: { body: jsonBody(ScanBody) },
    responses: { 200: jsonContent(ScanResponse, "The purchase"), ...errorResponses(400, 401, 403, 429) },
  }),
  async (c) => {
    const key = parseQrData(c.req.valid("json").qr_data);
    const scanned = await tillLimit.run(c, () => scanVoucher(c.env, currentUser(c).userId, key), {
      // Free only when the caller's own purchase was found by a code nobody can guess.
      answer: () => !isUnguessable(key),
      error: () => true,
    });
    return c.json(scanned, 200);
  },
);

merchantScanRouter.openapi(
  createRoute({
    method: "post",
    path: "/redeem",
    tags,
    summary: "Redeem `quantity` uses of a purchase (atomic; honours Idempotency-Key)",
    description: `Needs an access token. Merchant only, for the caller's own active business's purchases. Send an \`Idempotency-Key\` to make a retry safe. ${TILL_LIMIT_TEXT}`,
    security: bearerSecurity,
    request: { body: jsonBody(RedeemBody) },
    responses: { 200: jsonContent(RedeemResponse, "Redeemed"), ...errorResponses(400, 401, 403, 404, 409, 422, 429) },
  }),
  async (c) => c.json(await redeemVoucher(c.env, currentUser(c).userId, c.req.valid("json")), 200),
);

merchantScanRouter.openapi(
  createRoute({
    method: "get",
    path: "/redemptions",
    tags,
    operationId: "listMerchantRedemptions",
    summary: "The caller's business's redemptions since a moment (default: today, UTC), newest first",
    description:
      "Merchant only (403 otherwise): only redemptions of the caller's own business. `since` is an ISO 8601 instant (a till sends its local midnight); " +
      "`location` keeps those recorded at one till. Paginated.",
    security: bearerSecurity,
    request: { query: RedemptionsQuery },
    responses: { 200: jsonContent(RedemptionEventPage, "Redemptions"), ...errorResponses(400, 401, 403) },
  }),
  async (c) => c.json(await listRedemptions(c.env, currentUser(c).userId, publicRequestUrl(c.env, c.req.url), c.req.valid("query")), 200),
);
