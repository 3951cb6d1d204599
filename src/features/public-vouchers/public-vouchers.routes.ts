import { createRoute } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { AppBindings } from "../../env";
import { createRouter, errorResponses, jsonContent } from "../../lib/openapi";
import { optionalAuth } from "../../middleware/auth";
import { publicBaseUrl } from "../media/images";
import { BrowseQuery, FeaturedVouchers, PublicVoucher, PublicVoucherIdParam, PublicVoucherPage, TrendingVouchers } from "./public-vouchers.schemas";
import { POPULARITY_FORMULA } from "../vouchers/popularity";
import { browseVouchers, featuredVouchers, publicVoucher, trendingVouchers } from "./public-vouchers.service";

const tags = ["Public vouchers"];
export const publicVouchersRouter = createRouter();
publicVouchersRouter.use("*", optionalAuth);

const deps = (c: Context<AppBindings>) => ({
  env: c.env,
  baseUrl: publicBaseUrl(c.env, c.req.url),
  userId: c.get("auth")?.userId ?? null,
});
const optionalBearer: Record<string, string[]>[] = [{}, { bearerAuth: [] }];

publicVouchersRouter.openapi(
  createRoute({
    method: "get",
    path: "/",
    tags,
    summary: "Browse vouchers on sale (public; a token adds is_purchased/can_purchase for the caller)",
    security: optionalBearer,
    request: { query: BrowseQuery },
    responses: { 200: jsonContent(PublicVoucherPage, "Vouchers"), ...errorResponses(400, 401) },
  }),
  async (c) => c.json(await browseVouchers(deps(c), c.req.url, c.req.valid("query")), 200),
);

publicVouchersRouter.openapi(
  createRoute({
    method: "get",
    path: "/featured",
    tags,
    summary: "Featured vouchers: marked featured first, then by popularity score (2 × buyers + redeemers)",
    description: `${POPULARITY_FORMULA}. A buyer counts once per voucher; the voucher's own merchant never counts.`,
    security: optionalBearer,
    responses: { 200: jsonContent(FeaturedVouchers, "Featured vouchers"), ...errorResponses(401) },
  }),
  async (c) => c.json(await featuredVouchers(deps(c)), 200),
);

publicVouchersRouter.openapi(
  createRoute({
    method: "get",
    path: "/trending",
    tags,
    summary: "Trending vouchers: most distinct buyers in the last 7 days",
    description: "recent_purchases counts distinct buyers with a paid purchase (not cancelled or refunded) in the last 7 days; the voucher's own merchant never counts.",
    security: optionalBearer,
    responses: { 200: jsonContent(TrendingVouchers, "Trending vouchers"), ...errorResponses(401) },
  }),
  async (c) => c.json(await trendingVouchers(deps(c)), 200),
);

publicVouchersRouter.openapi(
  createRoute({
    method: "get",
    path: "/{id}",
    tags,
    summary: "One voucher on sale",
    security: optionalBearer,
    request: { params: PublicVoucherIdParam },
    responses: { 200: jsonContent(PublicVoucher, "Voucher"), ...errorResponses(400, 401, 404) },
  }),
  async (c) => c.json(await publicVoucher(deps(c), c.req.valid("param").id), 200),
);
