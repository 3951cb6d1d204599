import { createRoute, type z } from "@hono/zod-openapi";
import { publicBaseUrl } from "../../lib/public-url";
import type { Context } from "hono";
import type { AppBindings } from "../../env";
import { validationError } from "../../lib/errors";
import { bearerSecurity, createRouter, errorResponses, jsonContent } from "../../lib/openapi";
import { currentUser, requireAuth } from "../../middleware/auth";
import { idempotency } from "../../middleware/idempotency";
import {
  AdvertisementList,
  ByLocationResponse,
  CreateAdForm,
  CreateAdJson,
  CreateAdResponse,
  ExtendBody,
  ExtendParams,
  ExtendResponse,
  LocationQuery,
} from "./advertisements.schemas";
import { activeAdvertisements, createAdvertisement, extendAdvertisement } from "./advertisements.service";

const tags = ["Advertisements"];
const baseUrl = (c: Context<AppBindings>) => publicBaseUrl(c.env);

export const advertisementsRouter = createRouter();
advertisementsRouter.use("/", requireAuth, idempotency);
advertisementsRouter.use("/:id/extend", requireAuth, idempotency);

advertisementsRouter.openapi(
  createRoute({
    method: "post",
    path: "/",
    tags,
    summary: "Advertise one of your active vouchers in a city, priced by the days it runs",
    description:
      "start_date is today (UTC) or later and the run (start to end, both included) is at most `advertisement_max_days` " +
      "(site setting, default 366): otherwise 400 VALIDATION_ERROR (`details.max_days`). The price is `advertisement_cost`, " +
      "which covers `advertisement_included_days` (default 30), plus `advertisement_extension_cost_per_day` for each further day. " +
      "An inactive voucher is refused (400 INACTIVE), an expired one too (400 EXPIRED). The banner is checked (2 MB, " +
      "PNG/JPEG/GIF/WebP: 413/415) and stored only after every check passed; a refused request stores nothing.",
    security: bearerSecurity,
    request: {
      // Not `required`: with two media types, zod-openapi then validates only the one that was sent.
      body: {
        required: false,
        content: { "application/json": { schema: CreateAdJson }, "multipart/form-data": { schema: CreateAdForm } },
      },
    },
    responses: { 201: jsonContent(CreateAdResponse, "Created"), ...errorResponses(400, 401, 403, 404, 409, 413, 422) },
  }),
  async (c) => {
    const contentType = (c.req.header("content-type") ?? "").toLowerCase();
    const isForm = contentType.startsWith("multipart/form-data") || contentType.startsWith("application/x-www-form-urlencoded");
    if (!isForm && !contentType.startsWith("application/json"))
      throw validationError("Send the advertisement as JSON or as multipart/form-data.");
    const fields = isForm ? c.req.valid("form") : c.req.valid("json");
    let banner: File | null = null;
    if (isForm) {
      const file = (fields as z.infer<typeof CreateAdForm>).banner_image;
      if (file !== undefined && !(file instanceof File)) throw validationError("banner_image must be an uploaded file.");
      if (file) banner = file;
    }
    const result = await createAdvertisement(c.env, {
      userId: currentUser(c).userId,
      voucher: fields.voucher,
      start_date: fields.start_date,
      end_date: fields.end_date,
      city: fields.city,
      state: fields.state,
      banner,
      idempotencyKey: c.req.header("idempotency-key"),
    });
    return c.json(result, 201);
  },
);

advertisementsRouter.openapi(
  createRoute({
    method: "get",
    path: "/active",
    tags,
    summary: "Advertisements showing today",
    responses: { 200: jsonContent(AdvertisementList, "Active advertisements") },
  }),
  async (c) => c.json(await activeAdvertisements(c.env, baseUrl(c)), 200),
);

advertisementsRouter.openapi(
  createRoute({
    method: "get",
    path: "/by-location",
    tags,
    summary: "Advertisements showing today in a city and/or state (case-insensitive)",
    request: { query: LocationQuery },
    responses: { 200: jsonContent(ByLocationResponse, "Advertisements"), ...errorResponses(400) },
  }),
  async (c) => {
    const { city, state } = c.req.valid("query");
    const advertisements = await activeAdvertisements(c.env, baseUrl(c), { city, state });
    const location = [city, state].filter(Boolean).join(", ");
    return c.json(
      { advertisements, total_count: advertisements.length, location, message: `Advertisements available in ${location}` },
      200,
    );
  },
);

advertisementsRouter.openapi(
  createRoute({
    method: "post",
    path: "/{id}/extend",
    tags,
    summary: "Extend your advertisement by `days` (charged per day)",
    description:
      "Adds `days` (1..365) after the current end, or after yesterday if the ad already ended, at " +
      "`advertisement_extension_cost_per_day` each. The run may not pass `advertisement_max_days` from the later of its start " +
      "and today (400 VALIDATION_ERROR with `details.max_days` and `days_available`). An ad whose voucher is inactive cannot be extended (400 INACTIVE).",
    security: bearerSecurity,
    request: { params: ExtendParams, body: { required: true, content: { "application/json": { schema: ExtendBody } } } },
    responses: { 200: jsonContent(ExtendResponse, "Extended"), ...errorResponses(400, 401, 403, 404, 409, 422) },
  }),
  async (c) => {
    const result = await extendAdvertisement(c.env, {
      userId: currentUser(c).userId,
      adId: c.req.valid("param").id,
      days: c.req.valid("json").days,
      idempotencyKey: c.req.header("idempotency-key"),
    });
    return c.json(result, 200);
  },
);
