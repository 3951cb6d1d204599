import { createRoute } from "@hono/zod-openapi";
import { cachedJson } from "../../lib/read-cache";
import { publicRequestUrl } from "../../lib/public-url";
import { bearerSecurity, createRouter, errorResponses, jsonBody, jsonContent } from "../../lib/openapi";
import { PaginationQuery, pageWindow, paginated } from "../../lib/pagination";
import { currentUser, requireAuth, requireRole } from "../../middleware/auth";
import { idempotency } from "../../middleware/idempotency";
import { ExpiringSubscriptionPage, Offer, OfferCreateBody, OfferIdParam, OfferList, OfferListQuery, OfferPatchBody, RenewBody, RenewResponse } from "./offers.schemas";
import { createOffer, getOffer, listOffers, toOffer, updateOffer } from "./offers.service";
import { expiringSubscriptions, expiryWindowDays, renewSubscription, toSubscription } from "./subscriptions.service";

const tags = ["Offers"];
const adminOnly = "Admins only (403 for other roles).";

/** Mounted at /api/v1/offers. Reading is for any signed-in user; writing is admin-only. */
export const offersRouter = createRouter();
offersRouter.use("*", requireAuth);

const isAdmin = (c: Parameters<typeof currentUser>[0]) => currentUser(c).role === "admin";

offersRouter.openapi(
  createRoute({
    method: "get",
    path: "/",
    tags,
    summary: "List available (active) offers",
    security: bearerSecurity,
    request: { query: OfferListQuery },
    responses: { 200: jsonContent(OfferList, "Offers"), ...errorResponses(401) },
  }),
  async (c) => {
    const admin = isAdmin(c);
    // Everyone but admins sees the same catalogue: served from the per-isolate cache.
    if (!admin) return cachedJson(c, "offers:active", ["offers"], async () => (await listOffers(c.env, false)).map((row) => toOffer(row)), { shared: false });
    const rows = await listOffers(c.env, c.req.valid("query").include_inactive === "true");
    return c.json(rows.map((row) => toOffer(row, admin)), 200);
  },
);

offersRouter.openapi(
  createRoute({
    method: "get",
    path: "/expiring",
    tags,
    summary: "The caller's active subscriptions that end within EXPIRY_NOTICE_WINDOW_DAYS (default 3), soonest first",
    security: bearerSecurity,
    request: { query: PaginationQuery },
    responses: { 200: jsonContent(ExpiringSubscriptionPage, "Expiring subscriptions"), ...errorResponses(400, 401) },
  }),
  async (c) => {
    const query = c.req.valid("query");
    const { count, rows } = await expiringSubscriptions(c.env, currentUser(c).userId, pageWindow(query));
    return c.json({ ...paginated(publicRequestUrl(c.env, c.req.url), query, count, rows.map(toSubscription)), window_days: expiryWindowDays(c.env) }, 200);
  },
);

offersRouter.openapi(
  createRoute({
    method: "post",
    path: "/renew",
    tags,
    summary: "Renew one of the caller's subscriptions: debit the offer's price and extend it by duration_days (from its end, or from now if it ended)",
    description: "Accepts `Idempotency-Key`: the same key replays the first answer with one debit.",
    security: bearerSecurity,
    middleware: [idempotency] as const,
    request: { body: jsonBody(RenewBody) },
    responses: { 200: jsonContent(RenewResponse, "Renewed"), ...errorResponses(400, 401, 404, 409, 422) },
  }),
  async (c) => {
    const { subscription_id } = c.req.valid("json");
    const result = await renewSubscription(c.env, { userId: currentUser(c).userId, subscriptionId: subscription_id, idempotencyKey: c.req.header("idempotency-key") });
    return c.json(result, 200);
  },
);

offersRouter.openapi(
  createRoute({
    method: "get",
    path: "/{offer_id}",
    tags,
    summary: "Offer details (an inactive offer is 404, except to admins)",
    security: bearerSecurity,
    request: { params: OfferIdParam },
    responses: { 200: jsonContent(Offer, "Offer"), ...errorResponses(401, 404) },
  }),
  async (c) => {
    const admin = isAdmin(c);
    return c.json(toOffer(await getOffer(c.env, c.req.valid("param").offer_id, admin), admin), 200);
  },
);

offersRouter.openapi(
  createRoute({
    method: "post",
    path: "/",
    tags,
    summary: "Create an offer",
    description: adminOnly,
    security: bearerSecurity,
    middleware: [requireRole("admin")] as const,
    request: { body: jsonBody(OfferCreateBody) },
    responses: { 201: jsonContent(Offer, "Created"), ...errorResponses(400, 401, 403) },
  }),
  async (c) => c.json(toOffer(await createOffer(c.env, c.req.valid("json")), true), 201),
);

offersRouter.openapi(
  createRoute({
    method: "patch",
    path: "/{offer_id}",
    tags,
    summary: "Update an offer (name, description, price, duration_days, is_active, partner, sandbox_outcome)",
    description: adminOnly,
    security: bearerSecurity,
    middleware: [requireRole("admin")] as const,
    request: { params: OfferIdParam, body: jsonBody(OfferPatchBody) },
    responses: { 200: jsonContent(Offer, "Updated"), ...errorResponses(400, 401, 403, 404) },
  }),
  async (c) => c.json(toOffer(await updateOffer(c.env, c.req.valid("param").offer_id, c.req.valid("json")), true), 200),
);

offersRouter.openapi(
  createRoute({
    method: "delete",
    path: "/{offer_id}",
    tags,
    summary: "Deactivate an offer (it stays in history; existing subscriptions keep running)",
    description: adminOnly,
    security: bearerSecurity,
    middleware: [requireRole("admin")] as const,
    request: { params: OfferIdParam },
    responses: { 200: jsonContent(Offer, "Deactivated"), ...errorResponses(401, 403, 404) },
  }),
  async (c) => c.json(toOffer(await updateOffer(c.env, c.req.valid("param").offer_id, { is_active: false }), true), 200),
);
