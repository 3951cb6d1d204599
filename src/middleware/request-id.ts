import { createMiddleware } from "hono/factory";
import type { AppBindings } from "../env";

const SAFE_ID = /^[A-Za-z0-9._-]{8,64}$/;

/** Every response carries `X-Request-Id`; a caller's own well-formed id is kept for tracing. */
export const requestId = createMiddleware<AppBindings>(async (c, next) => {
  const incoming = c.req.header("x-request-id");
  const id = incoming && SAFE_ID.test(incoming) ? incoming : crypto.randomUUID();
  c.set("requestId", id);
  c.header("X-Request-Id", id);
  await next();
});
