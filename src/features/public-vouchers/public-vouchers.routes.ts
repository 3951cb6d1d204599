import { createRoute } from "@hono/zod-openapi";
import { publicBaseUrl, publicRequestUrl } from "../../lib/public-url";
import type { Context, TypedResponse } from "hono";
import type { AppBindings } from "../../env";
import { cachedJson } from "../../lib/read-cache";
import { createRouter, errorResponses, jsonContent, notModified } from "../../lib/openapi";
import { optionalAuth } from "../../middleware/auth";
import { BrowseQuery, FeaturedVouchers, PublicVoucher, PublicVoucherIdParam, PublicVoucherPage, TrendingVouchers } from "./public-vouchers.schemas";
import { POPULARITY_FORMULA } from "../vouchers/popularity";
import { browseVouchers, featuredVouchers, publicVoucher, trendingVouchers } from "./public-vouchers.service";

const tags = ["Public vouchers"];
export const publicVouchersRouter = createRouter();
publicVouchersRouter.use("*", optionalAuth);

const deps = (c: Context<AppBindings>) => ({
  env: c.env,
  baseUrl: publicBaseUrl(c.env),
  userId: c.get("auth")?.userId ?? null,
});
/** What an anonymous public page is read from: a write here to any of them drops the cached pages. */
const PUBLIC_TABLES = ["vouchers", "merchants", "categories", "site_settings"] as const;

/**
 * Anonymous callers all see the same page for a URL: it comes from the per-isolate cache and may be
 * kept by browsers and shared caches (ETag, 304). A signed-in caller's page (is_purchased, can_purchase
 * for them) is computed each time and never shared.
 */
async function publicPage<T>(c: Context<AppBindings>, load: () => Promise<T>) {
  if (c.get("auth")) return c.json(await load(), 200) as unknown as TypedResponse<T, 200, "json">;
  return cachedJson(c, `public:${c.req.url}`, PUBLIC_TABLES, load, { shared: true });
}

const optionalBearer: Record<string, string[]>[] = [{}, { bearerAuth: [] }];

publicVouchersRouter.openapi(
  createRoute({
    method: "get",
    path: "/",
    tags,
    summary: "Browse vouchers on sale (public; a token adds is_purchased/can_purchase for the caller)",
    security: optionalBearer,
    request: { query: BrowseQuery },
    responses: { 200: jsonContent(PublicVoucherPage, "Vouchers"), ...notModified, ...errorResponses(400, 401) },
  }),
  (c) => publicPage(c, () => browseVouchers(deps(c), publicRequestUrl(c.env, c.req.url), c.req.valid("query"))),
);

publicVouchersRouter.openapi(
  createRoute({
    method: "get",
    path: "/featured",
    tags,
    summary: "Featured vouchers: marked featured first, then by popularity score (2 × buyers + redeemers)",
    description: `${POPULARITY_FORMULA}. A buyer counts once per voucher; the voucher's own merchant never counts.`,
    security: optionalBearer,
    responses: { 200: jsonContent(FeaturedVouchers, "Featured vouchers"), ...notModified, ...errorResponses(401) },
  }),
  (c) => publicPage(c, () => featuredVouchers(deps(c))),
);

publicVouchersRouter.openapi(
  createRoute({
    method: "get",
    path: "/trending",
    tags,
    summary: "Trending vouchers: most distinct buyers in the last 7 days",
    description: "recent_purchases counts distinct buyers with a paid purchase (not cancelled or refunded) in the last 7 days; the voucher's own merchant never counts.",
    security: optionalBearer,
    responses: { 200: jsonContent(TrendingVouchers, "Trending vouchers"), ...notModified, ...errorResponses(401) },
  }),
  (c) => publicPage(c, () => trendingVouchers(deps(c))),
);

publicVouchersRouter.openapi(
  createRoute({
    method: "get",
    path: "/{id}",
    tags,
    summary: "One voucher on sale",
    security: optionalBearer,
    request: { params: PublicVoucherIdParam },
    responses: { 200: jsonContent(PublicVoucher, "Voucher"), ...notModified, ...errorResponses(400, 401, 404) },
  }),
  (c) => publicPage(c, () => publicVoucher(deps(c), c.req.valid("param").id)),
);
