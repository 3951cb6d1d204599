import { createRoute, type z } from "@hono/zod-openapi";
import { publicBaseUrl, publicRequestUrl } from "../../lib/public-url";
import type { Context } from "hono";
import type { AppBindings } from "../../env";
import { bearerSecurity, createRouter, errorResponses, jsonContent } from "../../lib/openapi";
import { PaginatedSchema, PaginationQuery } from "../../lib/pagination";
import { currentUser, requireAuth } from "../../middleware/auth";
import { POPULARITY_FORMULA } from "./popularity";
import { formToBody } from "./voucher-form";
import { popularVouchers, voucherStatistics } from "./voucher-stats.service";
import {
  PopularVouchers,
  Voucher,
  VoucherCreateBody,
  VoucherDeleted,
  VoucherForm,
  VoucherIdParam,
  VoucherPatchBody,
  VoucherStatistics,
} from "./vouchers.schemas";
import { createVoucher, deleteVoucher, getOwnVoucher, listOwnVouchers, updateVoucher } from "./vouchers.service";

const tags = ["Merchant vouchers"];
export const vouchersRouter = createRouter();
vouchersRouter.use("*", requireAuth);

const deps = (c: Context<AppBindings>) => ({ env: c.env, baseUrl: publicBaseUrl(c.env) });
const isMultipart = (c: Context<AppBindings>) => (c.req.header("content-type") ?? "").toLowerCase().startsWith("multipart/form-data");

/** JSON or multipart (with `image`); both are validated by the same strict schema. */
function voucherBody<T extends z.ZodTypeAny>(schema: T) {
  return {
    required: false,
    content: { "application/json": { schema }, "multipart/form-data": { schema: VoucherForm } },
  };
}

function readBody<T extends z.ZodTypeAny>(c: Context<AppBindings>, schema: T, validated: () => unknown): { input: z.infer<T>; image: File | null } {
  if (isMultipart(c)) {
    const { body, image } = formToBody((c.req as unknown as { valid(t: "form"): Record<string, unknown> }).valid("form"));
    return { input: schema.parse(body), image };
  }
  const json = c.req.header("content-type") ? validated() : schema.parse({});
  return { input: json as z.infer<T>, image: null };
}

vouchersRouter.openapi(
  createRoute({
    method: "post",
    path: "/",
    tags,
    summary: "Create a voucher (merchant); JSON, or multipart/form-data with an image",
    description:
      "Type 1 (percentage) needs percentage_value (0 < v <= 100) and percentage_min_bill; type 2 (flat) flat_amount (flat_min_bill optional); type 3 (product) product_name (product_min_bill optional). Fields of other types are refused.",
    security: bearerSecurity,
    request: { body: voucherBody(VoucherCreateBody) },
    responses: { 201: jsonContent(Voucher, "Created"), ...errorResponses(400, 401, 403, 413) },
  }),
  async (c) => {
    const { input, image } = readBody(c, VoucherCreateBody, () => c.req.valid("json"));
    return c.json(await createVoucher(deps(c), currentUser(c).userId, input, image), 201);
  },
);

vouchersRouter.openapi(
  createRoute({
    method: "get",
    path: "/",
    tags,
    summary: "The caller's vouchers (merchant)",
    security: bearerSecurity,
    request: { query: PaginationQuery },
    responses: { 200: jsonContent(PaginatedSchema(Voucher), "Vouchers"), ...errorResponses(401, 403) },
  }),
  async (c) => c.json(await listOwnVouchers(deps(c), currentUser(c).userId, publicRequestUrl(c.env, c.req.url), c.req.valid("query")), 200),
);

vouchersRouter.openapi(
  createRoute({
    method: "get",
    path: "/statistics",
    tags,
    summary: "Purchase and redemption statistics of the caller's vouchers (merchant)",
    description: `Top performers are ordered by ${POPULARITY_FORMULA}. redemption_rate = redeemed units / purchases × 100, one decimal.`,
    security: bearerSecurity,
    responses: { 200: jsonContent(VoucherStatistics, "Statistics"), ...errorResponses(401, 403) },
  }),
  async (c) => c.json(await voucherStatistics(c.env, currentUser(c).userId), 200),
);

vouchersRouter.openapi(
  createRoute({
    method: "get",
    path: "/popular",
    tags,
    summary: "The marketplace's most popular listed vouchers",
    description: `${POPULARITY_FORMULA}. A buyer counts once per voucher however often they buy or redeem; gift cards claimed from the merchant's own purchases do not count.`,
    security: bearerSecurity,
    responses: { 200: jsonContent(PopularVouchers, "Popular vouchers"), ...errorResponses(401) },
  }),
  async (c) => c.json(await popularVouchers(c.env, publicBaseUrl(c.env)), 200),
);

vouchersRouter.openapi(
  createRoute({
    method: "get",
    path: "/{id}",
    tags,
    summary: "One of the caller's vouchers (another merchant's is 404)",
    security: bearerSecurity,
    request: { params: VoucherIdParam },
    responses: { 200: jsonContent(Voucher, "Voucher"), ...errorResponses(401, 403, 404) },
  }),
  async (c) => c.json(await getOwnVoucher(deps(c), currentUser(c).userId, c.req.valid("param").id), 200),
);

vouchersRouter.openapi(
  createRoute({
    method: "patch",
    path: "/{id}",
    tags,
    summary: "Update one of the caller's vouchers; JSON, or multipart/form-data with a new image",
    description:
      "Edits apply to future sales only: every purchase (and each gift card claimed from it) keeps the type, value, minimum bill, " +
      "uses, terms and share cap it was sold with, and that is what user vouchers, QR data, gift-card lists and the till's scan show. " +
      "count cannot go below sold_count + claimed_count (400 VALIDATION_ERROR).",
    security: bearerSecurity,
    request: { params: VoucherIdParam, body: voucherBody(VoucherPatchBody) },
    responses: { 200: jsonContent(Voucher, "Updated"), ...errorResponses(400, 401, 403, 404, 413) },
  }),
  async (c) => {
    const { input, image } = readBody(c, VoucherPatchBody, () => c.req.valid("json"));
    return c.json(await updateVoucher(deps(c), currentUser(c).userId, c.req.valid("param").id, input, image), 200);
  },
);

vouchersRouter.openapi(
  createRoute({
    method: "delete",
    path: "/{id}",
    tags,
    summary: "Delete one of the caller's vouchers; one with purchases is deactivated instead",
    security: bearerSecurity,
    request: { params: VoucherIdParam },
    responses: { 200: jsonContent(VoucherDeleted, "Deleted or deactivated"), ...errorResponses(401, 403, 404) },
  }),
  async (c) => c.json(await deleteVoucher(deps(c), currentUser(c).userId, c.req.valid("param").id), 200),
);
