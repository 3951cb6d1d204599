import { createRoute } from "@hono/zod-openapi";
import { publicRequestUrl } from "../../lib/public-url";
import { bearerSecurity, createRouter, errorResponses, jsonBody, jsonContent } from "../../lib/openapi";
import { currentUser, requireAuth } from "../../middleware/auth";
import { idempotencyInBatch } from "../../middleware/idempotency";
import { rateLimit } from "../../middleware/rate-limit";
import { RedeemBody, RedeemResponse, ScanBody, ScanResponse } from "./merchant-scan.schemas";
import { redeemVoucher, scanVoucher } from "./merchant-scan.service";
import { listRedemptions, RedemptionEventPage, RedemptionsQuery } from "./merchant-scan.history";

const tags = ["Merchant scan"];
export const merchantScanRouter = createRouter();
merchantScanRouter.use("*", requireAuth);
merchantScanRouter.use("/scan", rateLimit("SCAN_LIMITER", "scan"));
merchantScanRouter.use("/redeem", idempotencyInBatch);

merchantScanRouter.openapi(
  createRoute({
    method: "post",
    path: "/scan",
    tags,
    summary: "Look up a purchase from its QR code (own business only) and say whether it can be redeemed",
    security: bearerSecurity,
    request: { body: jsonBody(ScanBody) },
    responses: { 200: jsonContent(ScanResponse, "The purchase"), ...errorResponses(400, 401, 403, 429) },
  }),
  async (c) => c.json(await scanVoucher(c.env, currentUser(c).userId, c.req.valid("json").qr_data), 200),
);

merchantScanRouter.openapi(
  createRoute({
    method: "post",
    path: "/redeem",
    tags,
    summary: "Redeem `quantity` uses of a purchase (atomic; honours Idempotency-Key)",
    security: bearerSecurity,
    request: { body: jsonBody(RedeemBody) },
    responses: { 200: jsonContent(RedeemResponse, "Redeemed"), ...errorResponses(400, 401, 403, 404, 409, 422) },
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
