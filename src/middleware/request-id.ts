import { requestId as honoRequestId } from "hono/request-id";

/**
 * Hono's request id: every response carries `X-Request-Id`; a caller's own id (up to 64 of
 * `A-Za-z0-9_=-`) is kept so one request can be followed through the logs.
 */
export const requestId = honoRequestId({ limitLength: 64 });
