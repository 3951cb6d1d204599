import type { ContentfulStatusCode } from "hono/utils/http-status";

/** Stable machine codes. Clients switch on these; the sentence in `error` is for humans. */
export const ErrorCode = {
  VALIDATION_ERROR: "VALIDATION_ERROR",
  BAD_REQUEST: "BAD_REQUEST",
  UNAUTHENTICATED: "UNAUTHENTICATED",
  INVALID_CREDENTIALS: "INVALID_CREDENTIALS",
  TOKEN_INVALID: "TOKEN_INVALID",
  TOKEN_REUSED: "TOKEN_REUSED",
  API_KEY_INVALID: "API_KEY_INVALID",
  API_KEY_REQUIRED: "API_KEY_REQUIRED",
  FORBIDDEN: "FORBIDDEN",
  NOT_FOUND: "NOT_FOUND",
  METHOD_NOT_ALLOWED: "METHOD_NOT_ALLOWED",
  UPGRADE_REQUIRED: "UPGRADE_REQUIRED",
  CONFLICT: "CONFLICT",
  USERNAME_TAKEN: "USERNAME_TAKEN",
  IDEMPOTENCY_KEY_REUSED: "IDEMPOTENCY_KEY_REUSED",
  IDEMPOTENCY_IN_PROGRESS: "IDEMPOTENCY_IN_PROGRESS",
  INSUFFICIENT_BALANCE: "INSUFFICIENT_BALANCE",
  SOLD_OUT: "SOLD_OUT",
  SHARE_LIMIT_REACHED: "SHARE_LIMIT_REACHED",
  INACTIVE: "INACTIVE",
  EXPIRED: "EXPIRED",
  NOT_REDEEMABLE: "NOT_REDEEMABLE",
  INVALID_QR_CODE: "INVALID_QR_CODE",
  ALREADY_PROCESSED: "ALREADY_PROCESSED",
  INVALID_STATUS_TRANSITION: "INVALID_STATUS_TRANSITION",
  INVALID_SIGNATURE: "INVALID_SIGNATURE",
  REPLAYED_REQUEST: "REPLAYED_REQUEST",
  PAYLOAD_TOO_LARGE: "PAYLOAD_TOO_LARGE",
  UNSUPPORTED_MEDIA_TYPE: "UNSUPPORTED_MEDIA_TYPE",
  RATE_LIMITED: "RATE_LIMITED",
  SERVICE_UNAVAILABLE: "SERVICE_UNAVAILABLE",
  MISCONFIGURED: "MISCONFIGURED",
  INTERNAL_ERROR: "INTERNAL_ERROR",
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** The one error shape every response uses. */
export interface ErrorBody {
  error: string;
  code: ErrorCode;
  request_id: string;
  details?: Record<string, unknown>;
}

/** Thrown anywhere (routes, services); the app's error handler renders it. */
export class ApiError extends Error {
  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: ErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
    /** Extra response headers (e.g. Retry-After). */
    readonly headers?: Record<string, string>,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

export const badRequest = (message: string, details?: Record<string, unknown>) =>
  new ApiError(400, ErrorCode.BAD_REQUEST, message, details);
export const validationError = (message: string, details?: Record<string, unknown>) =>
  new ApiError(400, ErrorCode.VALIDATION_ERROR, message, details);
export const unauthenticated = (message = "Authentication required. Please provide a valid access token.") =>
  new ApiError(401, ErrorCode.UNAUTHENTICATED, message);
export const forbidden = (message = "You do not have permission to perform this action.") =>
  new ApiError(403, ErrorCode.FORBIDDEN, message);
export const notFound = (what = "Resource") => new ApiError(404, ErrorCode.NOT_FOUND, `${what} not found.`);
export const conflict = (message: string, code: ErrorCode = ErrorCode.CONFLICT) => new ApiError(409, code, message);
