import { createRoute } from "@hono/zod-openapi";
import { publicBaseUrl, publicRequestUrl } from "../../lib/public-url";
import { bearerSecurity, createRouter, errorResponses, jsonContent } from "../../lib/openapi";
import { currentUser, requireAuth } from "../../middleware/auth";
import { qrSvg } from "./qr-svg";
import { QrCodeResponse, QrQuery, RedemptionIdParam, svgContent, UserVoucherPage, UserVouchersQuery } from "./user-vouchers.schemas";
import { listUserVouchers, ownRedemption, qrCodeJson } from "./user-vouchers.service";

const tags = ["User vouchers"];
export const userVouchersRouter = createRouter();
userVouchersRouter.use("*", requireAuth);

const svgResponse = (svg: string) =>
  new Response(svg, { status: 200, headers: { "Content-Type": "image/svg+xml; charset=utf-8", "Cache-Control": "private, no-store" } });

userVouchersRouter.openapi(
  createRoute({
    method: "get",
    path: "/",
    tags,
    summary: "The caller's purchased and claimed vouchers",
    security: bearerSecurity,
    request: { query: UserVouchersQuery },
    responses: { 200: jsonContent(UserVoucherPage, "Vouchers"), ...errorResponses(400, 401) },
  }),
  async (c) => {
    const user = currentUser(c);
    return c.json(await listUserVouchers(c.env, publicBaseUrl(c.env), user.userId, publicRequestUrl(c.env, c.req.url), c.req.valid("query")), 200);
  },
);

userVouchersRouter.openapi(
  createRoute({
    method: "get",
    path: "/{id}/qr-code",
    tags,
    summary: "QR code data of one of the caller's vouchers (?format=svg for the image)",
    security: bearerSecurity,
    request: { params: RedemptionIdParam, query: QrQuery },
    responses: {
      200: { description: "QR code data, or the SVG image with ?format=svg", content: { "application/json": { schema: QrCodeResponse }, ...svgContent } },
      ...errorResponses(401, 404),
    },
  }),
  async (c) => {
    const { id } = c.req.valid("param");
    const row = await ownRedemption(c.env, currentUser(c).userId, id);
    if (c.req.valid("query").format === "svg") return svgResponse(qrSvg(row.purchase_reference)) as never;
    return c.json(qrCodeJson(row, `${publicBaseUrl(c.env)}/api/v1/user-vouchers/${row.id}/qr-code.svg`), 200);
  },
);

userVouchersRouter.openapi(
  createRoute({
    method: "get",
    path: "/{id}/qr-code.svg",
    tags,
    summary: "The QR code (SVG) of one of the caller's vouchers; it encodes the purchase reference",
    security: bearerSecurity,
    request: { params: RedemptionIdParam },
    responses: { 200: { description: "SVG image", content: svgContent }, ...errorResponses(401, 404) },
  }),
  async (c) => {
    const row = await ownRedemption(c.env, currentUser(c).userId, c.req.valid("param").id);
    return svgResponse(qrSvg(row.purchase_reference)) as never;
  },
);
