import type { OpenAPIHono } from "@hono/zod-openapi";
import { publicBaseUrl } from "../../lib/public-url";
import { Scalar } from "@scalar/hono-api-reference";
import type { AppBindings } from "../../env";
import { buildOpenApiDocument } from "./openapi-document";

const INFO = {
  title: "perks-edge API",
  version: "1.0.0",
  description: [
    "Offers, wallets, vouchers, gift cards and notifications.",
    "Every path also answers with a trailing slash, and every `/api/v1/...` path also answers at `/api/voucher/...`.",
    "Errors always have the shape `{error, code, request_id, details?}`; `code` is stable, `error` is a sentence for people.",
    "A path called with a method it does not have answers 405 with an `Allow` header; an unknown path answers 404.",
    "Every response carries `X-Request-Id`.",
    "A response that touched the database carries `X-D1-Bookmark` (the database position it read or wrote): send the last one back as `X-D1-Bookmark` and reads, which may be served by a nearby read replica, are at least that fresh, so a client always sees its own writes.",
  ].join(" "),
};

export const OPENAPI_PATH = "/api/openapi.json";
/** Served from public/ (copied from the pinned npm package by scripts/assets/build.mjs), never a CDN. */
export const SCALAR_SCRIPT_PATH = "/vendor/scalar/api-reference.js";

/** The OpenAPI 3.1 document is generated from the same zod schemas that validate requests. */
export function registerDocs(app: OpenAPIHono<AppBindings>) {
  app.openAPIRegistry.registerComponent("securitySchemes", "bearerAuth", {
    type: "http",
    scheme: "bearer",
    bearerFormat: "JWT",
    description:
      "The access token from `POST /api/v1/auth/login` (or `/token`): `Authorization: Bearer <access>`. `Authorization: Token <access>` is accepted too.",
  });
  // Built once per isolate (the routes do not change while it runs); the server URL is the public base.
  let document: Record<string, any> | undefined;
  app.get(OPENAPI_PATH, (c) => {
    document ??= buildOpenApiDocument(app, INFO, "");
    return c.json({ ...document, servers: [{ url: publicBaseUrl(c.env) }] });
  });
  app.get("/api/docs", Scalar({
      url: OPENAPI_PATH,
      pageTitle: "perks-edge API",
      cdn: SCALAR_SCRIPT_PATH,
      // Offline by design: no web fonts, no telemetry, no request proxy on another origin.
      withDefaultFonts: false,
      telemetry: false,
      hideClientButton: true,
    }),);
}
