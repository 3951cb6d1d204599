import { createRoute } from "@hono/zod-openapi";
import { bearerSecurity, createRouter, errorResponses, jsonBody, jsonContent } from "../../lib/openapi";
import { currentUser, requireAuth } from "../../middleware/auth";
import { idempotency } from "../../middleware/idempotency";
import { rateLimit } from "../../middleware/rate-limit";
import { claimGiftCard } from "./gift-cards.claim";
import { myGiftCards, sharedByMe } from "./gift-cards.lists";
import { ClaimBody, ClaimResponse, MyGiftCards, SharedByMe, ShareBody, ShareParams, ShareResponse } from "./gift-cards.schemas";
import { shareGiftCard } from "./gift-cards.share";

const tags = ["Gift cards"];

/** Mounted at /api/v1/vouchers beside the voucher routes: only the share action lives here. */
export const giftCardShareRouter = createRouter();
giftCardShareRouter.use("/:id/share-gift-card", requireAuth, rateLimit("SHARE_LIMITER", "share"), idempotency);
giftCardShareRouter.openapi(
  createRoute({
    method: "post",
    path: "/{id}/share-gift-card",
    tags,
    summary: "Share your gift-card purchase over WhatsApp: one claim reference per number",
    description:
      "A purchase can be shared to at most `max_shares` people in all: the voucher's `max_shares_per_purchase` when it was bought " +
      "(merchant-set, default 5, at most 20). A request that would pass it is refused whole: 409 SHARE_LIMIT_REACHED with " +
      "`details.max_shares`, `shares_used`, `shares_remaining`. A share reserves no stock; with none left it is refused: 400 SOLD_OUT.",
    security: bearerSecurity,
    request: { params: ShareParams, body: jsonBody(ShareBody) },
    responses: { 200: jsonContent(ShareResponse, "Shared"), ...errorResponses(400, 401, 404, 409, 422, 429) },
  }),
  async (c) => {
    const { phone_numbers, default_country_code } = c.req.valid("json");
    const result = await shareGiftCard(c.env, {
      userId: currentUser(c).userId,
      id: c.req.valid("param").id,
      phoneNumbers: phone_numbers,
      defaultCountryCode: default_country_code,
    });
    return c.json(result, 200);
  },
);

export const giftCardClaimRouter = createRouter();
giftCardClaimRouter.use("*", requireAuth);
giftCardClaimRouter.use("/claim", rateLimit("CLAIM_LIMITER", "claim"), idempotency);

giftCardClaimRouter.openapi(
  createRoute({
    method: "post",
    path: "/claim",
    tags,
    summary: "Claim a gift card by its GFT reference (once; rate-limited)",
    description:
      "The reference is a bearer secret: whoever holds it may claim it, once. Unknown and already-claimed references answer " +
      "alike (404 NOT_FOUND). Each claimed copy takes one unit of the voucher's stock, like a purchase: past it, 400 SOLD_OUT. " +
      "The copy keeps the terms the sharer bought (value, type, minimum bill, uses), whatever the merchant edits later.",
    security: bearerSecurity,
    request: { body: jsonBody(ClaimBody) },
    responses: { 200: jsonContent(ClaimResponse, "Claimed"), ...errorResponses(400, 401, 404, 429) },
  }),
  async (c) => c.json(await claimGiftCard(c.env, currentUser(c).userId, c.req.valid("json").claim_reference), 200),
);

giftCardClaimRouter.openapi(
  createRoute({
    method: "get",
    path: "/my-gift-cards",
    tags,
    summary: "Gift cards you claimed",
    security: bearerSecurity,
    responses: { 200: jsonContent(MyGiftCards, "Your gift cards"), ...errorResponses(401) },
  }),
  async (c) => c.json(await myGiftCards(c.env, currentUser(c).userId), 200),
);

giftCardClaimRouter.openapi(
  createRoute({
    method: "get",
    path: "/shared-by-me",
    tags,
    summary: "Gift cards you shared and whether they were claimed",
    security: bearerSecurity,
    responses: { 200: jsonContent(SharedByMe, "Your shares"), ...errorResponses(401) },
  }),
  async (c) => c.json(await sharedByMe(c.env, currentUser(c).userId), 200),
);
