import { Redis } from "@upstash/redis/cloudflare";
import type { Env } from "../env";

/**
 * Redis is a cache; D1 is the truth. `null` means "no cache configured" and every caller must
 * work without it. No retries: a Redis outage should cost one failed request, not a backoff loop.
 */
export function getRedis(env: Pick<Env, "UPSTASH_REDIS_REST_URL" | "UPSTASH_REDIS_REST_TOKEN">): Redis | null {
  if (!env.UPSTASH_REDIS_REST_URL || !env.UPSTASH_REDIS_REST_TOKEN) return null;
  return new Redis({
    url: env.UPSTASH_REDIS_REST_URL,
    token: env.UPSTASH_REDIS_REST_TOKEN,
    retry: false,
    automaticDeserialization: false,
    enableTelemetry: false,
    signal: () => AbortSignal.timeout(1500),
  });
}

/** Runs a cache operation; a Redis failure is logged and turned into `fallback`. */
export async function tryRedis<T>(what: string, run: () => Promise<T>, fallback: T): Promise<T> {
  try {
    return await run();
  } catch (error) {
    console.warn(JSON.stringify({ level: "warn", msg: "redis unavailable", op: what, error: String(error) }));
    return fallback;
  }
}
