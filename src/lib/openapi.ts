import { OpenAPIHono, z } from "@hono/zod-openapi";
import { createMiddleware } from "hono/factory";
import type { ZodError } from "zod";
import type { AppBindings } from "../env";
import { ApiError, ErrorCode } from "./errors";

export const ErrorSchema = z
  .object({
    error: z.string().openapi({ example: "Offer not found." }),
    code: z.enum(Object.values(ErrorCode) as [ErrorCode, ...ErrorCode[]]).openapi({ example: "NOT_FOUND" }),
    request_id: z.string(),
    details: z.record(z.string(), z.unknown()).optional(),
  })
  .openapi("Error");

const ERROR_DESCRIPTIONS: Record<number, string> = {
  400: "Invalid request",
  401: "Missing or invalid credentials",
  403: "Authenticated but not allowed",
  404: "Not found (also for objects that belong to someone else)",
  409: "Conflicts with the current state",
  413: "Body too large",
  415: "The body is not in a media type this endpoint accepts",
  422: "Idempotency-Key reused with another body",
  426: "Upgrade required (a WebSocket endpoint called without Upgrade: websocket)",
  429: "Rate limited",
  503: "A dependency is unavailable",
};

/** OpenAPI `responses` entries for the error statuses a route can return. */
export function errorResponses(...statuses: number[]) {
  return Object.fromEntries(
    statuses.map((status) => [
      status,
      { description: ERROR_DESCRIPTIONS[status] ?? "Error", content: { "application/json": { schema: ErrorSchema } } },
    ]),
  );
}

export const jsonContent = <T extends z.ZodTypeAny>(schema: T, description: string) => ({
  description,
  content: { "application/json": { schema } },
});

export const jsonBody = <T extends z.ZodTypeAny>(schema: T) => ({
  required: true,
  content: { "application/json": { schema } },
});

export const bearerSecurity = [{ bearerAuth: [] }];

/** Anonymous public pages carry an ETag; a matching If-None-Match gets this. */
export const notModified = { 304: { description: "Not modified: If-None-Match matched the ETag (anonymous callers; no body)" } };

/**
 * zod 4 does not keep the offending value on an issue, so "missing" and "wrong type" are told
 * apart by its own wording: a missing field is "expected string, received undefined".
 */
const isMissing = (issue: ZodError["issues"][number]) => issue.code === "invalid_type" && /received undefined$/.test(issue.message);

/** One issue as a sentence that names the field and says what was wrong with it. */
export function describeIssue(issue: ZodError["issues"][number]): string {
  const field = issue.path.join(".");
  if (issue.code === "unrecognized_keys") return `Unknown or read-only field(s): ${issue.keys.join(", ")}.`;
  // The notification and offers specs write "offer_id is required" without a full stop.
  if (isMissing(issue)) return `${field || "The body"} is required`;
  // "Invalid input: expected string, received number" -> "username: expected string, received number"
  const message = issue.message.replace(/^Invalid input: /, "");
  return field ? `${field}: ${message}` : message;
}

/** One sentence a person can act on, from the first zod issue; every issue goes in `details`. */
export function describeZodError(error: ZodError): ApiError {
  const fields = error.issues.map((issue) => ({
    field: issue.path.join(".") || null,
    message: describeIssue(issue),
    code: isMissing(issue) ? "required" : issue.code,
  }));
  const sentence = error.issues[0] ? describeIssue(error.issues[0]) : "The request is invalid.";
  return new ApiError(400, ErrorCode.VALIDATION_ERROR, sentence, { fields });
}

const FORM_TYPES: Record<string, RegExp> = {
  "application/json": /^application\/([a-z.-]+\+)?json\s*(;|$)/i,
  "multipart/form-data": /^multipart\/form-data\s*(;|$)/i,
  "application/x-www-form-urlencoded": /^application\/x-www-form-urlencoded\s*(;|$)/i,
};

/**
 * A body in a type the route does not declare is refused with 415 before anything reads it:
 * otherwise a form-encoded body on a JSON route reads as "no fields" (a PATCH that silently
 * changes nothing) or reaches a handler that expects JSON.
 */
function mediaTypeGate(declared: string[]) {
  const accepted = declared.filter((type) => FORM_TYPES[type]);
  return createMiddleware<AppBindings>(async (c, next) => {
    const contentType = c.req.header("content-type");
    const hasBody = contentType !== undefined || (c.req.raw.body !== null && c.req.header("content-length") !== "0");
    if (hasBody && !accepted.some((type) => FORM_TYPES[type]!.test(contentType ?? ""))) {
      throw new ApiError(
        415,
        ErrorCode.UNSUPPORTED_MEDIA_TYPE,
        `This endpoint accepts ${accepted.join(" or ")} bodies; send Content-Type: ${accepted[0]}.`,
        { accepted_types: accepted },
      );
    }
    await next();
  });
}

type RouteConfig = Parameters<OpenAPIHono<AppBindings>["openapi"]>[0];

/** Every feature router: strict about trailing slashes off, validation errors in our one shape. */
export function createRouter() {
  const router = new OpenAPIHono<AppBindings>({
    strict: false,
    defaultHook: (result) => {
      if (!result.success) throw describeZodError(result.error as ZodError);
    },
  });
  // Each route that declares a body gets the media-type gate first.
  const register = router.openapi.bind(router);
  router.openapi = ((route: RouteConfig, ...rest: unknown[]) => {
    const declared = Object.keys(route.request?.body?.content ?? {});
    if (declared.length > 0) {
      const own = route.middleware ? (Array.isArray(route.middleware) ? route.middleware : [route.middleware]) : [];
      route = { ...route, middleware: [mediaTypeGate(declared), ...own], responses: { ...errorResponses(415), ...route.responses } } as RouteConfig;
    }
    return (register as (...args: unknown[]) => unknown)(route, ...rest);
  }) as typeof router.openapi;
  return router;
}
