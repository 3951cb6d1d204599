import { createMiddleware } from "hono/factory";
import type { AppBindings } from "../env";
import { logLine, queuesCarrying } from "../lib/log";

const QUEUES = ["ACTIVATIONS", "NOTIFICATIONS"] as const;
/** Load balancers and uptime checks call liveness every few seconds: its successes are not logged. */
const UNLOGGED_SUCCESS = new Set(["/api/v1/health/live"]);

/**
 * After the request id is known: messages this request queues carry it, and when the answer is
 * ready one line says who asked what and how it went (the route pattern, not the raw path, so ids
 * and references stay out of the log). A successful liveness probe is the exception: nothing to
 * follow there, and at probe rates it would be most of the log.
 */
export const requestLog = createMiddleware<AppBindings>(async (c, next) => {
  const started = Date.now();
  const requestId = c.get("requestId");
  c.env = queuesCarrying(c.env, requestId, QUEUES);
  await next();
  const route = c.req.routePath;
  if (c.res.status < 300 && UNLOGGED_SUCCESS.has(route)) return;
  logLine({
    level: c.res.status >= 500 ? "error" : "info",
    msg: "request",
    request_id: requestId,
    method: c.req.method,
    route,
    status: c.res.status,
    duration_ms: Date.now() - started,
    user_id: c.get("auth")?.userId ?? null,
  });
});
