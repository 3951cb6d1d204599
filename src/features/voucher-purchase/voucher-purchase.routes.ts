import { createRoute } from "@hono/zod-openapi";
import { bearerSecurity, createRouter, errorResponses, jsonBody, jsonContent } from "../../lib/openapi";
import { currentUser, requireAuth } from "../../middleware/auth";
import { idempotency, idempotencyInBatch } from "../../middleware/idempotency";
import { CancelBody, CancelResponse, PurchaseBody, PurchaseResponse, RefundResponse } from "./voucher-purchase.schemas";
import { cancelPurchase, purchaseVoucher, refundPurchase } from "./voucher-purchase.service";

const tags = ["Voucher purchases"];
export const voucherPurchaseRouter = createRouter();
voucherPurchaseRouter.use("*", requireAuth);
// A purchase's claim rides in the wallet's batch; cancel and refund claim first.
voucherPurchaseRouter.use("/purchase", idempotencyInBatch);
voucherPurchaseRouter.use("/cancel", idempotency);
voucherPurchaseRouter.use("/refund", idempotency);

voucherPurchaseRouter.openapi(
  createRoute({
    method: "post",
    path: "/purchase",
    tags,
    summary: "Buy a voucher with wallet points (the voucher_cost setting); honours Idempotency-Key",
    security: bearerSecurity,
    request: { body: jsonBody(PurchaseBody) },
    responses: { 201: jsonContent(PurchaseResponse, "Purchased"), ...errorResponses(400, 401, 404, 409, 422) },
  }),
  async (c) => {
    const key = c.req.header("idempotency-key");
    const result = await purchaseVoucher(c.env, { userId: currentUser(c).userId, voucherId: c.req.valid("json").voucher_id, idempotencyKey: key });
    return c.json(result, 201);
  },
);

voucherPurchaseRouter.openapi(
  createRoute({
    method: "post",
    path: "/cancel",
    tags,
    summary: "Cancel an unredeemed, unexpired purchase: the stock returns, the points do not",
    description: "Repeating it changes nothing and answers 409 ALREADY_PROCESSED.",
    security: bearerSecurity,
    request: { body: jsonBody(CancelBody) },
    responses: { 200: jsonContent(CancelResponse, "Cancelled"), ...errorResponses(400, 401, 404, 409, 422) },
  }),
  async (c) => {
    const { redemption_id, reason } = c.req.valid("json");
    return c.json(await cancelPurchase(c.env, { userId: currentUser(c).userId, redemptionId: redemption_id, reason }), 200);
  },
);

voucherPurchaseRouter.openapi(
  createRoute({
    method: "post",
    path: "/refund",
    tags,
    summary: "Refund an unredeemed, unexpired purchase: the stock and the points paid return",
    description: "Credits exactly purchase_cost, at most once; repeating it answers 409 ALREADY_PROCESSED. Claimed gift cards were not paid for and cannot be refunded.",
    security: bearerSecurity,
    request: { body: jsonBody(CancelBody) },
    responses: { 200: jsonContent(RefundResponse, "Refunded"), ...errorResponses(400, 401, 404, 409, 422) },
  }),
  async (c) => {
    const { redemption_id, reason } = c.req.valid("json");
    return c.json(await refundPurchase(c.env, { userId: currentUser(c).userId, redemptionId: redemption_id, reason }), 200);
  },
);
