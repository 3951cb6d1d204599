import { createRoute } from "@hono/zod-openapi";
import { bearerSecurity, createRouter, errorResponses, jsonBody, jsonContent } from "../../lib/openapi";
import { currentUser, requireAuth } from "../../middleware/auth";
import { idempotency } from "../../middleware/idempotency";
import { rateLimit } from "../../middleware/rate-limit";
import { RedeemBody, RedeemResponse, ScanBody, ScanResponse } from "./merchant-scan.schemas";
import { redeemVoucher, scanVoucher } from "./merchant-scan.service";

const tags = ["Merchant scan"];
export const merchantScanRouter = createRouter();
merchantScanRouter.use("*", requireAuth);
merchantScanRouter.use("/scan", rateLimit("SCAN_LIMITER", "scan"));
merchantScanRouter.use("/redeem", idempotency);

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
