import { Redis } from "@upstash/redis/cloudflare";
import { CONFIG_DEFAULTS } from "../config";
import type { Env } from "../env";

/**
 * Every Redis call gives up after this long (`REDIS_TIMEOUT_MS` overrides it). A hanging Redis
 * then costs a request at most one such wait (callers skip further cache calls once one failed),
 * and the answer comes from D1.
 */
export const REDIS_TIMEOUT_MS = Number(CONFIG_DEFAULTS.REDIS_TIMEOUT_MS);

export function redisTimeoutMs(env: Pick<Env, "REDIS_TIMEOUT_MS">): number {
  const ms = Number(env.REDIS_TIMEOUT_MS);
  return Number.isInteger(ms) && ms > 0 && ms <= 10_000 ? ms : REDIS_TIMEOUT_MS;
}

/** Clients by URL, token and timeout: one per isolate for each (an env rarely has more than one). */
const clients = new Map<string, Redis>();

/**
 * Redis is a cache; D1 is the truth. `null` means "no cache configured" and every caller must
 * work without it. No retries: a Redis outage should cost one failed request, not a backoff loop.
 * The client is made once per isolate: it holds no connection (each command is one fetch, with its
 * own timeout signal), and making one cost more CPU than the cached read it then sends.
 */
export function getRedis(env: Pick<Env, "UPSTASH_REDIS_REST_URL" | "UPSTASH_REDIS_REST_TOKEN" | "REDIS_TIMEOUT_MS">): Redis | null {
  if (!env.UPSTASH_REDIS_REST_URL || !env.UPSTASH_REDIS_REST_TOKEN) return null;
  const timeoutMs = redisTimeoutMs(env);
  const key = `${timeoutMs} ${env.UPSTASH_REDIS_REST_URL} ${env.UPSTASH_REDIS_REST_TOKEN}`;
  const known = clients.get(key);
  if (known) return known;
  const client = new Redis({
    url: env.UPSTASH_REDIS_REST_URL,
    token: env.UPSTASH_REDIS_REST_TOKEN,
    retry: false,
    automaticDeserialization: false,
    // Plain JSON answers: every value stored here is text this code wrote, so the base64 wrapping
    // (for binary values) only cost a decode of every string on every read.
    responseEncoding: false,
    enableTelemetry: false,
    signal: () => AbortSignal.timeout(timeoutMs),
  });
  if (clients.size >= 8) clients.clear();
  clients.set(key, client);
  return client;
}

/** Runs a cache operation; a Redis failure is logged and turned into `fallback`. */
export async function tryRedis<T>(what: string, run: () => Promise<T>, fallback: T): Promise<T> {
  const outcome = await attemptRedis(what, run);
  return outcome.ok ? outcome.value : fallback;
}

/** A cache operation's result, or why it failed (`timedOut`: Redis did not answer within the timeout). */
export type RedisAttempt<T> = { ok: true; value: T } | { ok: false; timedOut: boolean };

export async function attemptRedis<T>(what: string, run: () => Promise<T>): Promise<RedisAttempt<T>> {
  try {
    return { ok: true, value: await run() };
  } catch (error) {
    const name = (error as { name?: string })?.name;
    const timedOut = name === "TimeoutError" || name === "AbortError" || /abort|timed? ?out/i.test(String(error));
    console.warn(JSON.stringify({ level: "warn", msg: "redis unavailable", op: what, timed_out: timedOut, error: String(error) }));
    return { ok: false, timedOut };
  }
}
