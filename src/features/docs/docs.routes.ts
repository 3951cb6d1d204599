import type { OpenAPIHono } from "@hono/zod-openapi";
import { Scalar } from "@scalar/hono-api-reference";
import type { AppBindings } from "../../env";

export const OPENAPI_PATH = "/api/openapi.json";
/** Served from public/ (copied from the pinned npm package by scripts/assets/build.mjs), never a CDN. */
export const SCALAR_SCRIPT_PATH = "/vendor/scalar/api-reference.js";

/** The OpenAPI 3.1 document is generated from the same zod schemas that validate requests. */
export function registerDocs(app: OpenAPIHono<AppBindings>) {
  app.openAPIRegistry.registerComponent("securitySchemes", "bearerAuth", {
    type: "http",
    scheme: "bearer",
    bearerFormat: "JWT",
    description: "`Authorization: Bearer <access>`; `Authorization: Token <access>` is accepted too.",
  });
  app.openAPIRegistry.registerComponent("securitySchemes", "apiKey", { type: "apiKey", in: "header", name: "X-API-Key" });
  app.doc31(OPENAPI_PATH, (c) => ({
    openapi: "3.1.0",
    info: {
      title: "perks-edge API",
      version: "1.0.0",
      description:
        "Offers, wallets, vouchers, gift cards and notifications. Every path also answers with a trailing slash, and every `/api/v1/...` path also answers at `/api/voucher/...`. Errors: `{error, code, request_id, details?}`.",
    },
    servers: [{ url: new URL(c.req.url).origin }],
    security: [{ apiKey: [] }],
  }));
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
