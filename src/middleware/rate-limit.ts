import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import type { AppBindings, Env } from "../env";
import { clientAddressKey } from "../lib/client-address";
import { ApiError, ErrorCode } from "../lib/errors";
import { withTrait } from "../lib/route-traits";

export type LimiterName = "AUTH_LIMITER" | "LOGIN_LIMITER" | "SESSION_LIMITER" | "SCAN_LIMITER" | "CLAIM_LIMITER" | "NOTIFY_LIMITER" | "ORDER_LIMITER" | "SHARE_LIMITER";

/** The bindings' window (every `[[ratelimits]]` of wrangler.toml has `period = 60`), which Retry-After announces. */
const WINDOW_SECONDS = 60;

const rateLimited = () =>
  new ApiError(429, ErrorCode.RATE_LIMITED, "Too many requests. Please wait a minute and try again.", undefined, {
    "Retry-After": String(WINDOW_SECONDS),
  });

/** The signed-in user when there is one, else the client address (IPv6 per /64). */
const callerKey = (c: Context<AppBindings>, keyPrefix: string) => {
  const auth = c.get("auth");
  return `${keyPrefix}:${auth ? `user:${auth.userId}` : `addr:${clientAddressKey(c.req.header("cf-connecting-ip"))}`}`;
};

/**
 * Workers Rate Limiting binding: a per-location counter with no D1 round trip, charged for every
 * request. A missing binding means no limit (documented for self-hosting without it).
 */
export const rateLimit = (limiter: LimiterName, keyPrefix: string) =>
  withTrait("rate-limit", createMiddleware<AppBindings>(async (c, next) => {
    await limitOrThrow(c.env, limiter, callerKey(c, keyPrefix));
    await next();
  }));

/** The same limit where the key is known only inside a handler. */
export async function limitOrThrow(env: Env, limiter: LimiterName, key: string) {
  if (await refused(env, limiter, key)) throw rateLimited();
}

/** One unit of `limiter` for `key`: whether the binding refused it (never, without the binding). */
async function refused(env: Env, limiter: LimiterName, key: string): Promise<boolean> {
  const binding = env[limiter];
  if (!binding) return false;
  const { success } = await binding.limit({ key });
  return !success;
}

/** At most this many blocked callers are remembered per isolate; past it the oldest is forgotten. */
export const MAX_BLOCKED_CALLERS = 4096;
/** `<limiter>|<key>` -> until when (epoch ms) the caller is blocked after the binding refused it, oldest first. */
const blockedUntil = new Map<string, number>();

function isBlocked(entry: string, now: number): boolean {
  const until = blockedUntil.get(entry);
  if (until === undefined) return false;
  if (until > now) return true;
  blockedUntil.delete(entry);
  return false;
}

function block(entry: string, now: number) {
  blockedUntil.delete(entry);
  if (blockedUntil.size >= MAX_BLOCKED_CALLERS) blockedUntil.delete(blockedUntil.keys().next().value!);
  blockedUntil.set(entry, now + WINDOW_SECONDS * 1000);
}

/** What a failure-charged route counts: a returned answer, a thrown error. Either defaults to free. */
export interface Charged<T> {
  answer?: (value: T) => boolean;
  error?: (error: unknown) => boolean;
}

/**
 * A limit charged only for outcomes that cost without giving (a guess at a code, a refused or
 * repeated request), so callers doing real work never wait for the limiter or run into it.
 * Two forms, with the same limiter and key:
 * - `refuseBlocked` then `run(c, work, charged)`, for a route that knows inside its handler what
 *   to charge (the till's scan: a miss, another business's code, a lookup by a sequential id).
 *   `refuseBlocked` goes before anything else of the route (validation, an Idempotency-Key claim,
 *   the lookup): a caller blocked in this isolate answers 429 at once, so once someone has guessed
 *   too often even a correct guess is not answered. `run` runs the work and charges one unit for
 *   what `charged` says; when the binding refuses that unit, the request answers 429 instead of the
 *   work's answer or error (nothing of it is sent).
 * - `around(free)`, a middleware that does both around everything after it and charges every
 *   answer below 500 that `free` does not let through, judged on the final response (so an
 *   Idempotency-Key's replay or stored answer is judged as sent, and its 429 is never stored): the
 *   notification send and the till's redeem.
 * A caller the binding refused is blocked for one window from then: the binding does not say
 * when its window ends, so the block lasts what Retry-After says, which is at least as long as the
 * binding's own refusal. The binding counts per location across isolates, but the block is
 * remembered per isolate: another isolate learns it at its own first charged request (the binding
 * refuses that one too), and until then may still answer a free one. A missing binding means no
 * limit, as for `rateLimit`.
 */
export function failureCharged(limiter: LimiterName, keyPrefix: string) {
  const entryOf = (c: Context<AppBindings>) => `${limiter}|${callerKey(c, keyPrefix)}`;
  const refuseIfBlocked = (c: Context<AppBindings>) => {
    // Every scan asks this; with nobody blocked (the usual case) it builds no key.
    if (blockedUntil.size > 0 && isBlocked(entryOf(c), Date.now())) throw rateLimited();
  };
  const charge = async (c: Context<AppBindings>) => {
    if (!(await refused(c.env, limiter, callerKey(c, keyPrefix)))) return;
    block(entryOf(c), Date.now());
    throw rateLimited();
  };
  return {
    refuseBlocked: withTrait("rate-limit", createMiddleware<AppBindings>(async (c, next) => {
      refuseIfBlocked(c);
      await next();
    })),
    async run<T>(c: Context<AppBindings>, work: () => Promise<T>, charged: Charged<T>): Promise<T> {
      let value: T;
      try {
        value = await work();
      } catch (error) {
        if (charged.error?.(error)) await charge(c);
        throw error;
      }
      if (charged.answer?.(value)) await charge(c);
      return value;
    },
    around: (free: (c: Context<AppBindings>) => boolean | Promise<boolean>) =>
      withTrait("rate-limit", createMiddleware<AppBindings>(async (c, next) => {
        refuseIfBlocked(c);
        await next();
        if (c.res.status >= 500 || (await free(c))) return;
        try {
          await charge(c);
        } catch (refusal) {
          // Hono carries the headers of the answer it replaces onto the next one; of this answer
          // (a replay's Idempotent-Replayed, the allowance's Retry-After) only the request id belongs on the 429.
          for (const name of [...c.res.headers.keys()]) if (name !== "x-request-id") c.header(name, undefined);
          throw refusal;
        }
      })),
  };
}
