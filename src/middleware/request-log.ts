import { createMiddleware } from "hono/factory";
import type { AppBindings } from "../env";
import { logLine, queuesCarrying } from "../lib/log";

const QUEUES = ["ACTIVATIONS", "NOTIFICATIONS"] as const;

/**
 * After the request id is known: messages this request queues carry it, and when the answer is
 * ready one line says who asked what and how it went (the route pattern, not the raw path, so ids
 * and references stay out of the log).
 */
export const requestLog = createMiddleware<AppBindings>(async (c, next) => {
  const started = Date.now();
  const requestId = c.get("requestId");
  c.env = queuesCarrying(c.env, requestId, QUEUES);
  await next();
  logLine({
    level: c.res.status >= 500 ? "error" : "info",
    msg: "request",
    request_id: requestId,
    method: c.req.method,
    route: c.req.routePath,
    status: c.res.status,
    duration_ms: Date.now() - started,
    user_id: c.get("auth")?.userId ?? null,
  });
});
