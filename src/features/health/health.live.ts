import { BOOKMARK_HEADER } from "../../db/request-db";
import { REQUEST_ID_HEADER, requestIdFrom } from "../../middleware/request-id";

/** The liveness route, with and without the trailing slash (the app is not strict about it). */
const LIVE_PATHS = new Set(["/api/v1/health/live", "/api/v1/health/live/"]);
const LIVE_BODY = JSON.stringify({ status: "ok" });

/**
 * `GET`/`HEAD /api/v1/health/live`, answered before the app: load balancers call it every few
 * seconds, and the middleware chain and the router were most of its time. The answer is the
 * route's own (`{"status":"ok"}`, `Content-Type`, `X-Request-Id`, not logged on success). A request
 * whose answer the middleware could change (an `Origin` for CORS, an `X-API-Key` to check, a D1
 * bookmark to echo, a body to limit) gets null and takes the app's path like any other.
 */
export function liveAnswer(request: Request): Response | null {
  const method = request.method;
  if (method !== "GET" && method !== "HEAD") return null;
  const url = request.url;
  const pathStart = url.indexOf("/", url.indexOf("://") + 3);
  if (pathStart === -1) return null;
  const queryStart = url.indexOf("?", pathStart);
  if (!LIVE_PATHS.has(queryStart === -1 ? url.slice(pathStart) : url.slice(pathStart, queryStart))) return null;
  const headers = request.headers;
  if (request.body || headers.has("origin") || headers.has("x-api-key") || headers.has(BOOKMARK_HEADER)) return null;
  return new Response(method === "HEAD" ? null : LIVE_BODY, {
    status: 200,
    headers: { "Content-Type": "application/json", [REQUEST_ID_HEADER]: requestIdFrom(headers.get(REQUEST_ID_HEADER)) },
  });
}
