import { requestId as honoRequestId } from "hono/request-id";

export const REQUEST_ID_HEADER = "X-Request-Id";
const LIMIT = 64;

/**
 * Hono's request id: every response carries `X-Request-Id`; a caller's own id (up to 64 of
 * `A-Za-z0-9_=-`) is kept so one request can be followed through the logs.
 */
export const requestId = honoRequestId({ limitLength: LIMIT, headerName: REQUEST_ID_HEADER });

/** The same rule outside the app (the liveness answer): the caller's id if well-formed, else a new one. */
export const requestIdFrom = (sent: string | null | undefined): string =>
  !sent || sent.length > LIMIT || /[^\w\-=]/.test(sent) ? crypto.randomUUID() : sent;
