import { OpenAPIHono, z } from "@hono/zod-openapi";
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
  422: "Idempotency-Key reused with another body",
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

/** One sentence a person can act on, from the first zod issue; all issues go in `details`. */
export function describeZodError(error: ZodError): ApiError {
  const issues = error.issues.map((issue) => ({ field: issue.path.join(".") || null, message: issue.message, code: issue.code }));
  const first = error.issues[0];
  let sentence = "The request is invalid.";
  if (first) {
    const field = first.path.join(".");
    if (first.code === "unrecognized_keys") sentence = `Unknown or read-only field(s): ${first.keys.join(", ")}.`;
    else if (first.code === "invalid_type" && first.input === undefined) sentence = `${field || "body"} is required`;
    else sentence = field ? `${field}: ${first.message}` : first.message;
  }
  return new ApiError(400, ErrorCode.VALIDATION_ERROR, sentence, { fields: issues });
}

/** Every feature router: strict about trailing slashes off, validation errors in our one shape. */
export function createRouter() {
  return new OpenAPIHono<AppBindings>({
    strict: false,
    defaultHook: (result) => {
      if (!result.success) throw describeZodError(result.error as ZodError);
    },
  });
}
