import type { Env } from "../env";
import { primaryOf } from "../db/request-db";

/**
 * Whether a token's user is still active, remembered per isolate for ACTIVE_CACHE_MS. An access
 * token lives 15 minutes; without this a deactivated user would keep working until it expires.
 * With it, a deactivation takes effect within half a minute everywhere (at once in the isolate
 * that made it), and a hot path such as the till's scan pays one small D1 read per user per
 * isolate every half minute instead of one per request.
 */
export const ACTIVE_CACHE_MS = 30_000;
const MAX_ENTRIES = 10_000;
const cache = new Map<number, { active: boolean; until: number }>();

export async function isUserActive(env: Pick<Env, "DB">, userId: number): Promise<boolean> {
  const hit = cache.get(userId);
  if (hit && hit.until > Date.now()) return hit.active;
  const sql = "SELECT is_active FROM users WHERE id = ?";
  // A read replica may not know a user registered a moment ago: a miss is asked of the primary.
  const row =
    (await env.DB.prepare(sql).bind(userId).first<{ is_active: number }>()) ??
    (await primaryOf(env.DB).prepare(sql).bind(userId).first<{ is_active: number }>());
  const active = row?.is_active === 1;
  cache.delete(userId);
  if (cache.size >= MAX_ENTRIES) cache.delete(cache.keys().next().value!);
  cache.set(userId, { active, until: Date.now() + ACTIVE_CACHE_MS });
  return active;
}

/** After (de)activating a user in this isolate. */
export function forgetUserStatus(userId: number) {
  cache.delete(userId);
}
