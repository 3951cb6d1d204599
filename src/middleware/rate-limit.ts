import { createMiddleware } from "hono/factory";
import type { AppBindings, Env } from "../env";
import { ApiError, ErrorCode } from "../lib/errors";

type LimiterName = "AUTH_LIMITER" | "SCAN_LIMITER" | "CLAIM_LIMITER" | "NOTIFY_LIMITER";

/**
 * Workers Rate Limiting binding: a per-location counter with no D1 round trip. The key is the
 * signed-in user when there is one, else the client address. A missing binding means no limit
 * (documented for self-hosting without it).
 */
export const rateLimit = (limiter: LimiterName, keyPrefix: string) =>
  createMiddleware<AppBindings>(async (c, next) => {
    const binding = (c.env as Env)[limiter];
    if (binding) {
      const who = c.get("auth")?.userId ?? c.req.header("cf-connecting-ip") ?? "anonymous";
      const { success } = await binding.limit({ key: `${keyPrefix}:${who}` });
      if (!success) {
        throw new ApiError(429, ErrorCode.RATE_LIMITED, "Too many requests. Please wait a minute and try again.", undefined, {
          "Retry-After": "60",
        });
      }
    }
    await next();
  });
