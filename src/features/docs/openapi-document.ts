import type { OpenAPIHono } from "@hono/zod-openapi";
import { PatternRouter } from "hono/router/pattern-router";
import { BOOKMARK_HEADER, BOOKMARK_PATTERN } from "../../db/request-db";
import type { AppBindings } from "../../env";
import { API_KEY_EXEMPT } from "../../middleware/api-key";
import { optionalAuth, requireAuth } from "../../middleware/auth";
import { idempotency, idempotencyInBatch } from "../../middleware/idempotency";
import { traitOf } from "../../lib/route-traits";
import { partnerAuth, PARTNER_REQUEST_HEADERS } from "../partner/partner.auth";
import { TAG_DESCRIPTIONS, tagFor } from "./tags";

type Json = Record<string, any>;
type Trait = "bearer" | "optional" | "idempotent" | "partner" | "role" | "rate-limit" | "probe-auth";

const METHODS = ["get", "put", "post", "delete", "patch", "head", "options"] as const;
const ERROR_REF = { $ref: "#/components/schemas/Error" };

/**
 * The contract facts a route's middleware implies, read from the app's own route table with
 * Hono's router, so the document says what the code does: who needs a token, which calls take an
 * Idempotency-Key, which are rate limited.
 */
function traitsOf(app: OpenAPIHono<AppBindings>) {
  const router = new PatternRouter<Trait>();
  for (const route of app.routes) {
    const trait: Trait | undefined =
      route.handler === requireAuth ? "bearer"
      : route.handler === optionalAuth ? "optional"
      : route.handler === idempotency || route.handler === idempotencyInBatch ? "idempotent"
      : route.handler === partnerAuth ? "partner"
      : traitOf(route.handler);
    if (trait) router.add(route.method, route.path, trait);
  }
  return (method: string, path: string): Set<Trait> => {
    const sample = path.replace(/\{[^}]+\}/g, "1");
    const [matches] = router.match(method.toUpperCase(), sample) as unknown as [[Trait, unknown][]];
    return new Set(matches.map(([trait]) => trait));
  };
}

/** `GET /api/v1/offers/{offer_id}` -> `getOffersByOfferId`; the legacy `/health/...` paths get `legacy`. */
export function operationIdFor(method: string, path: string): string {
  const legacy = !path.startsWith("/api/");
  const words = path
    .replace(/^\/api\/v1\//, "/")
    .split("/")
    .filter(Boolean)
    .flatMap((segment) => {
      const param = /^\{(.+)\}$/.exec(segment);
      return param ? ["by", ...param[1]!.split(/[_-]/)] : segment.split(/[^A-Za-z0-9]+/);
    })
    .filter(Boolean);
  const camel = [method.toLowerCase(), ...(legacy ? ["legacy"] : []), ...words]
    .map((w, i) => (i === 0 ? w : w[0]!.toUpperCase() + w.slice(1)))
    .join("");
  return camel;
}

const header = (description: string, schema: Json = { type: "string" }) => ({ description, schema });

const COMPONENT_HEADERS: Json = {
  RequestId: header("The request's id (the caller's own `X-Request-Id` when well formed); logs carry it."),
  RetryAfter: header("Seconds to wait before trying again.", { type: "integer" }),
  IdempotentReplayed: header("`true` when this is the stored answer of an earlier request with the same `Idempotency-Key`.", { type: "string", enum: ["true"] }),
  CacheControl: header("`no-store` on personal answers and on errors."),
  D1Bookmark: header(
    "Present when the answer touched the database: the position it read or wrote. Send it back as the `X-D1-Bookmark` request header so the next read is at least that fresh.",
    { type: "string", pattern: BOOKMARK_PATTERN },
  ),
};

const COMPONENT_PARAMETERS: Json = {
  RequestId: {
    name: "X-Request-Id",
    in: "header",
    required: false,
    description: "Your id for this request (up to 64 of `A-Za-z0-9_=-`; anything else is replaced): echoed back, logged, and carried into the queue messages the request sends.",
    schema: { type: "string", pattern: "^[A-Za-z0-9_=-]{1,64}$" },
  },
  ApiKey: {
    name: "X-API-Key",
    in: "header",
    required: false,
    description: "An API key issued by an admin. Checked whenever it is sent; required on every call when the server sets `REQUIRE_API_KEY=true`.",
    schema: { type: "string" },
  },
  IdempotencyKey: {
    name: "Idempotency-Key",
    in: "header",
    required: false,
    description: "8-128 of `A-Za-z0-9._:-`. Repeating a request with the same key and body answers the first response again (with `Idempotent-Replayed: true`) instead of doing the work twice; the same key with another body is 422.",
    schema: { type: "string", pattern: "^[A-Za-z0-9._:-]{8,128}$" },
  },
  D1Bookmark: {
    name: BOOKMARK_HEADER,
    in: "header",
    required: false,
    description: "The last `X-D1-Bookmark` this client received: the reads of this request (which a nearby read replica may serve) are at least that fresh, so the client sees its own writes. A value of another form is ignored.",
    schema: { type: "string", pattern: BOOKMARK_PATTERN },
  },
  PartnerTimestamp: { name: PARTNER_REQUEST_HEADERS.timestamp, in: "header", required: true, description: "Unix seconds, within 5 minutes of the server's clock.", schema: { type: "string", pattern: "^[0-9]{1,12}$" } },
  PartnerNonce: { name: PARTNER_REQUEST_HEADERS.nonce, in: "header", required: true, description: "Single use, 8-128 of `A-Za-z0-9._:-`.", schema: { type: "string", pattern: "^[A-Za-z0-9._:-]{8,128}$" } },
  PartnerSignature: { name: PARTNER_REQUEST_HEADERS.signature, in: "header", required: true, description: "`sha256=<hex HMAC-SHA256 with the partner secret of <timestamp>.<nonce>.<METHOD>.<path>.<raw body>>`.", schema: { type: "string", pattern: "^sha256=[0-9a-f]{64}$" } },
};

const ADDED_ERRORS: Record<number, string> = {
  400: "Invalid request (a field, query parameter or header is missing or malformed)",
  401: "Missing or invalid credentials (access token, X-API-Key or partner signature)",
  403: "Authenticated but not allowed",
  404: "Not found (also for objects that belong to someone else)",
  409: "Conflicts with the current state, or a request with this Idempotency-Key is still running",
  413: "Body too large",
  422: "Idempotency-Key reused with another body",
  429: "Rate limited; retry after `Retry-After` seconds",
  500: "An unexpected error (the body carries only the request id)",
  503: "A dependency or the server's configuration is missing",
};

function errorResponse(description: string, extraHeaders: Json = {}) {
  return {
    description,
    headers: { "X-Request-Id": { $ref: "#/components/headers/RequestId" }, "Cache-Control": { $ref: "#/components/headers/CacheControl" }, ...extraHeaders },
    content: { "application/json": { schema: ERROR_REF } },
  };
}

/** Fills in, for one operation, what the middleware around it makes true. */
function completeOperation(op: Json, method: string, path: string, traits: Set<Trait>) {
  op.operationId ??= operationIdFor(method, path);
  op.tags = op.tags?.length ? op.tags : [tagFor(path)];
  op.summary ??= `${method.toUpperCase()} ${path}`;

  const bearer = traits.has("bearer");
  // A probe's token is optional too, but a bad one is ignored (no 401 or 503 on its account).
  const probe = !bearer && traits.has("probe-auth");
  const optional = !bearer && (traits.has("optional") || probe);
  // The middleware decides; a route that authenticates another way (a WebSocket) keeps its own.
  if (bearer || optional || !op.security) op.security = bearer ? [{ bearerAuth: [] }] : optional ? [{}, { bearerAuth: [] }] : [];
  op.description ??= [
    `${op.summary}.`,
    bearer ? "Needs an access token." : optional ? "An access token is optional and adds the caller's own fields." : "",
    traits.has("role") ? "Only some roles may call it (403 otherwise)." : "",
    traits.has("idempotent") && method !== "get" ? "Send an `Idempotency-Key` to make a retry safe." : "",
    traits.has("rate-limit") ? "Rate limited per caller (429 with `Retry-After`)." : "",
    traits.has("partner") ? "Signed by the partner with the `X-Partner-*` headers." : "",
  ]
    .filter(Boolean)
    .join(" ");

  const params: Json[] = (op.parameters ??= []);
  // Every request reads the database through a session that starts at the bookmark it sends.
  const refs: string[] = ["RequestId", "D1Bookmark"];
  const apiKey = path.startsWith("/api/") && !API_KEY_EXEMPT.some((re) => re.test(path.replace(/\{[^}]+\}/g, "x")));
  if (apiKey) refs.push("ApiKey");
  if (traits.has("idempotent") && method !== "get") refs.push("IdempotencyKey");
  if (traits.has("partner")) refs.push("PartnerTimestamp", "PartnerNonce", "PartnerSignature");
  const declared = new Set(params.map((p) => String(p.name ?? "").toLowerCase()));
  for (const ref of refs) if (!declared.has(String(COMPONENT_PARAMETERS[ref].name).toLowerCase())) params.push({ $ref: `#/components/parameters/${ref}` });

  // 503: a missing configuration value, or a database without its migrations, stops any call but a
  // probe (which reports it instead).
  const statuses = new Set<number>([500]);
  if (params.some((p) => p.in && p.in !== "header") || op.requestBody || traits.has("idempotent") || traits.has("partner")) statuses.add(400);
  if (bearer || (optional && !probe) || apiKey || traits.has("partner")) statuses.add(401);
  if (!probe) statuses.add(503);
  if (traits.has("role")) statuses.add(403);
  if (params.some((p) => p.in === "path")) statuses.add(404);
  if (op.requestBody) statuses.add(413);
  if (traits.has("idempotent") && method !== "get") statuses.add(409).add(422);
  if (traits.has("partner")) statuses.add(409);
  if (traits.has("rate-limit")) statuses.add(429);

  const responses: Json = (op.responses ??= {});
  for (const status of statuses) responses[status] ??= errorResponse(ADDED_ERRORS[status]!);
  for (const [status, response] of Object.entries(responses) as [string, Json][]) {
    if (response.$ref) continue;
    const code = Number(status);
    response.headers = { "X-Request-Id": { $ref: "#/components/headers/RequestId" }, ...response.headers };
    if (code !== 101) response.headers[BOOKMARK_HEADER] ??= { $ref: "#/components/headers/D1Bookmark" };
    if (code === 429) response.headers["Retry-After"] = { $ref: "#/components/headers/RetryAfter" };
    if (code >= 400) response.headers["Cache-Control"] ??= { $ref: "#/components/headers/CacheControl" };
    if (code < 300 && (bearer || optional)) response.headers["Cache-Control"] ??= { $ref: "#/components/headers/CacheControl" };
    if (code < 300 && traits.has("idempotent") && method !== "get") response.headers["Idempotent-Replayed"] = { $ref: "#/components/headers/IdempotentReplayed" };
  }
}

/** The OpenAPI 3.1 document: the routes' own declarations, completed from their middleware. */
export function buildOpenApiDocument(app: OpenAPIHono<AppBindings>, info: { title: string; version: string; description?: string }, serverUrl: string): Json {
  const doc = app.getOpenAPI31Document({ openapi: "3.1.0", info, servers: [{ url: serverUrl }] }) as Json;
  const traits = traitsOf(app);
  const used = new Set<string>();
  for (const [path, item] of Object.entries(doc.paths ?? {}) as [string, Json][]) {
    for (const method of METHODS) {
      const op = item[method];
      if (!op) continue;
      completeOperation(op, method, path, traits(method, path));
      for (const tag of op.tags) used.add(tag);
    }
  }
  doc.tags = [...used].sort().map((name) => ({ name, description: TAG_DESCRIPTIONS[name] ?? `Operations of ${name}.` }));
  doc.components ??= {};
  doc.components.headers = { ...COMPONENT_HEADERS, ...doc.components.headers };
  doc.components.parameters = { ...COMPONENT_PARAMETERS, ...doc.components.parameters };
  delete doc.security;
  return doc;
}
