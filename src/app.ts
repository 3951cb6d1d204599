import { OpenAPIHono } from "@hono/zod-openapi";
import { bodyLimit } from "hono/body-limit";
import { cors } from "hono/cors";
import { HTTPException } from "hono/http-exception";
import type { MiddlewareHandler } from "hono";
import type { ZodError } from "zod";
import type { AppBindings } from "./env";
import { ApiError, ErrorCode, type ErrorBody } from "./lib/errors";
import { allowedMethodsOf } from "./lib/allowed-methods";
import { missingTable } from "./lib/d1-errors";
import { requireSecret } from "./lib/jwt";
import { describeZodError } from "./lib/openapi";
import { apiKeyCheck } from "./middleware/api-key";
import { requestId } from "./middleware/request-id";
import { requestLog } from "./middleware/request-log";
import { registerDocs } from "./features/docs/docs.routes";
import { routes } from "./routes";

/** Bodies above this are refused before parsing; image uploads have their own, larger limit. */
export const JSON_BODY_LIMIT = 64 * 1024;
export const UPLOAD_BODY_LIMIT = 6 * 1024 * 1024;

const CORS_OPTIONS = {
  allowHeaders: ["Authorization", "Content-Type", "X-API-Key", "Idempotency-Key", "X-Request-Id", "X-D1-Bookmark"],
  exposeHeaders: ["X-Request-Id", "Idempotent-Replayed", "Retry-After", "X-D1-Bookmark"],
  maxAge: 600,
};
/** The CORS middleware for one CORS_ORIGINS value, built once per isolate (the value is fixed per deploy). */
const corsFor = new Map<string, MiddlewareHandler | null>();
function corsMiddleware(setting: string): MiddlewareHandler | null {
  let middleware = corsFor.get(setting);
  if (middleware === undefined) {
    const origins = setting.split(",").map((o) => o.trim()).filter(Boolean);
    middleware = origins.length === 0 ? null : cors({ ...CORS_OPTIONS, origin: origins.includes("*") ? "*" : origins });
    corsFor.set(setting, middleware);
  }
  return middleware;
}

const tooLarge = () => {
  throw new ApiError(413, ErrorCode.PAYLOAD_TOO_LARGE, "The request body is too large.");
};
const jsonBodyLimit = bodyLimit({ maxSize: JSON_BODY_LIMIT, onError: tooLarge });
const uploadBodyLimit = bodyLimit({ maxSize: UPLOAD_BODY_LIMIT, onError: tooLarge });

export function createApp() {
  const app = new OpenAPIHono<AppBindings>({ strict: false });

  app.use("*", requestId, requestLog);
  app.use("*", (c, next) => {
    // Every middleware here is built once per isolate; a request without a body skips the limit.
    const corsHandler = corsMiddleware(c.env.CORS_ORIGINS ?? "");
    if (!c.req.raw.body) return corsHandler ? corsHandler(c, next) : next();
    const limit = (c.req.header("content-type") ?? "").startsWith("multipart/form-data") ? uploadBodyLimit : jsonBodyLimit;
    return corsHandler ? corsHandler(c, async () => void (await limit(c, next))) : limit(c, next);
  });
  app.use("/api/*", apiKeyCheck);
  // The spec's root health paths: a valid key shows their detail too.
  app.use("/health/*", apiKeyCheck);
  // Without a signing key no sign-in can succeed: say so before any work (and any write) is done.
  app.use("/api/v1/auth/*", async (c, next) => {
    requireSecret(c.env);
    return next();
  });

  for (const { path, router } of routes) app.route(path, router);
  registerDocs(app);

  const allowedMethods = allowedMethodsOf(app);
  app.notFound((c) => {
    const allow = allowedMethods(c.req.path);
    if (allow.length > 0) {
      const body = errorBody(c.get("requestId"), ErrorCode.METHOD_NOT_ALLOWED, `${c.req.method} is not allowed here; use ${allow.join(", ")}.`);
      return c.json({ ...body, details: { allowed_methods: allow } }, 405, { Allow: allow.join(", ") });
    }
    return c.json(errorBody(c.get("requestId"), ErrorCode.NOT_FOUND, "No route matches this path."), 404);
  });
  app.onError((error, c) => renderError(error, c.get("requestId") ?? crypto.randomUUID()));
  return app;
}

function errorBody(requestId: string, code: ErrorCode, error: string, details?: Record<string, unknown>): ErrorBody {
  return details ? { error, code, request_id: requestId, details } : { error, code, request_id: requestId };
}

/** The one error shape. Internals (stack, SQL, driver messages) go to the log, never the client. */
export function renderError(error: unknown, requestId: string): Response {
  let apiError: ApiError;
  if (error instanceof ApiError) apiError = error;
  else if (isZodError(error)) apiError = describeZodError(error);
  else if (error instanceof HTTPException && error.status < 500) {
    const status = error.status;
    const code =
      status === 401 ? ErrorCode.UNAUTHENTICATED
      : status === 413 ? ErrorCode.PAYLOAD_TOO_LARGE
      : status === 415 ? ErrorCode.UNSUPPORTED_MEDIA_TYPE
      : ErrorCode.BAD_REQUEST;
    const sentence =
      status === 400 ? "The request body could not be parsed."
      : status === 415 ? "This endpoint does not accept a body of this Content-Type; send application/json."
      : "The request was refused.";
    apiError = new ApiError(status, code, sentence);
  } else if (missingTable(error)) {
    // A database whose migrations were never applied is the deployment's fault, and fixable.
    console.error(JSON.stringify({ level: "error", request_id: requestId, msg: "database schema missing", table: missingTable(error) }));
    apiError = new ApiError(
      503,
      ErrorCode.MISCONFIGURED,
      "The database has no schema yet: apply the migrations (`wrangler d1 migrations apply DB`, with `--local` for a local run; `npm run dev` does it).",
    );
  } else {
    console.error(JSON.stringify({ level: "error", request_id: requestId, error: String(error), stack: (error as Error)?.stack }));
    apiError = new ApiError(500, ErrorCode.INTERNAL_ERROR, "An unexpected error occurred. Please try again.");
  }
  const headers: Record<string, string> = {
    ...apiError.headers,
    "Content-Type": "application/json",
    "X-Request-Id": requestId,
    "Cache-Control": "no-store",
  };
  return new Response(JSON.stringify(errorBody(requestId, apiError.code, apiError.message, apiError.details)), {
    status: apiError.status,
    headers,
  });
}

function isZodError(error: unknown): error is ZodError {
  return typeof error === "object" && error !== null && (error as { name?: string }).name === "ZodError";
}

/** The voucher spec writes `/api/voucher/...`; those paths are aliases of `/api/v1/...`. */
export const VOUCHER_ALIAS_PREFIX = "/api/voucher/";

export function rewriteAlias(request: Request): Request {
  // Most requests are not aliases: a substring test instead of parsing the URL.
  if (!request.url.includes(VOUCHER_ALIAS_PREFIX)) return request;
  const url = new URL(request.url);
  if (!url.pathname.startsWith(VOUCHER_ALIAS_PREFIX)) return request;
  url.pathname = `/api/v1/${url.pathname.slice(VOUCHER_ALIAS_PREFIX.length)}`;
  return new Request(url, request);
}
