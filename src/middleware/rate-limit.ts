import { createMiddleware } from "hono/factory";
import type { AppBindings, Env } from "../env";
import { clientAddressKey } from "../lib/client-address";
import { ApiError, ErrorCode } from "../lib/errors";
import { withTrait } from "../lib/route-traits";

export type LimiterName = "AUTH_LIMITER" | "LOGIN_LIMITER" | "SESSION_LIMITER" | "SCAN_LIMITER" | "CLAIM_LIMITER" | "NOTIFY_LIMITER" | "ORDER_LIMITER" | "SHARE_LIMITER";

/**
 * Workers Rate Limiting binding: a per-location counter with no D1 round trip. The key is the
 * signed-in user when there is one, else the client address (IPv6 per /64). A missing binding
 * means no limit (documented for self-hosting without it).
 */
export const rateLimit = (limiter: LimiterName, keyPrefix: string) =>
  withTrait("rate-limit", createMiddleware<AppBindings>(async (c, next) => {
    const auth = c.get("auth");
    await limitOrThrow(c.env, limiter, `${keyPrefix}:${auth ? `user:${auth.userId}` : `addr:${clientAddressKey(c.req.header("cf-connecting-ip"))}`}`);
    await next();
  }));

/** The same limit where the key is known only inside a handler. */
export async function limitOrThrow(env: Env, limiter: LimiterName, key: string) {
  const binding = env[limiter];
  if (!binding) return;
  const { success } = await binding.limit({ key });
  if (!success) {
    throw new ApiError(429, ErrorCode.RATE_LIMITED, "Too many requests. Please wait a minute and try again.", undefined, {
      "Retry-After": "60",
    });
  }
}
