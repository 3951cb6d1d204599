import type { Env } from "../../env";
import { attemptRedis, getRedis } from "../../lib/redis";
import { formatAmount } from "../../lib/money";

/**
 * The spec's Redis hash `transaction:<id>`: status, amount ("20.00"), user_id, offer_id,
 * created_at, updated_at. A write-through cache of the D1 row; D1 is always written first.
 *
 * How it never stays older than D1 for long:
 * - writes are compare-and-set on `updated_at` (a Lua script): a write built from an older D1
 *   read never replaces a newer hash, whatever order two writers finish in;
 * - a PENDING hash lives `PENDING_TTL_SECONDS`: if the write of its final status is lost (Redis
 *   unreachable at that moment), the next read after that misses and rebuilds from D1;
 * - a failed write deletes the key (unless Redis is hanging: then the TTL is the bound);
 * - the frequent cron rewrites the hashes of recently settled activations (`refreshSettled`).
 */
export const transactionKey = (id: string) => `transaction:${id}`;
/** A PENDING hash is at most this stale: afterwards the status is read from D1 again. */
export const PENDING_TTL_SECONDS = 30;
/** Finished activations are rarely polled after a month; the hash is rebuilt from D1 on a miss. */
export const SETTLED_TTL_SECONDS = 30 * 86_400;

export interface CachedTransaction {
  id: string;
  user_id: number;
  status: string;
  amount: number;
  offer_id: number | null;
  created_at: string;
  updated_at: string;
}

type RedisEnv = Pick<Env, "UPSTASH_REDIS_REST_URL" | "UPSTASH_REDIS_REST_TOKEN" | "REDIS_TIMEOUT_MS">;

/**
 * KEYS[1] the hash; ARGV: updated_at, ttl, status, then field/value pairs. Refuses (returns 0)
 * when the hash holds a newer `updated_at`, or the same one with a final status while this write
 * says PENDING. ISO 8601 UTC strings of one format compare in time order.
 */
export const COMPARE_AND_SET = `
local current = redis.call('HMGET', KEYS[1], 'updated_at', 'status')
if current[1] then
  if current[1] > ARGV[1] then return 0 end
  if current[1] == ARGV[1] and current[2] ~= 'PENDING' and ARGV[3] == 'PENDING' then return 0 end
end
redis.call('HSET', KEYS[1], unpack(ARGV, 4))
redis.call('EXPIRE', KEYS[1], ARGV[2])
return 1`;

function casArgs(tx: CachedTransaction): string[] {
  const ttl = tx.status === "PENDING" ? PENDING_TTL_SECONDS : SETTLED_TTL_SECONDS;
  return [
    tx.updated_at, String(ttl), tx.status,
    "status", tx.status,
    "amount", formatAmount(tx.amount),
    "user_id", String(tx.user_id),
    "offer_id", tx.offer_id === null ? "" : String(tx.offer_id),
    "created_at", tx.created_at,
    "updated_at", tx.updated_at,
  ];
}

/**
 * Writes the whole hash from a D1 row, unless Redis already holds a newer one. Returns whether
 * Redis answered (a caller does not try Redis again in the same request when it did not).
 */
export async function cacheTransaction(env: RedisEnv, tx: CachedTransaction): Promise<boolean> {
  const redis = getRedis(env);
  if (!redis) return true;
  const key = transactionKey(tx.id);
  const written = await attemptRedis("cache transaction", () => redis.eval(COMPARE_AND_SET, [key], casArgs(tx)));
  if (written.ok) return true;
  // The hash may now be older than D1. Drop it so the next read rebuilds it; a hanging Redis
  // would not answer this either, and the PENDING TTL bounds what it holds.
  if (!written.timedOut) await attemptRedis("drop stale transaction hash", () => redis.del(key));
  return false;
}

/** One pipeline of compare-and-set writes, one per row: what Redis answered, as `attemptRedis` says it. */
function compareAndSetAll(redis: NonNullable<ReturnType<typeof getRedis>>, op: string, rows: CachedTransaction[]) {
  const pipeline = redis.pipeline();
  for (const row of rows) pipeline.eval(COMPARE_AND_SET, [transactionKey(row.id)], casArgs(row));
  return attemptRedis(op, () => pipeline.exec());
}

/**
 * `cacheTransaction` for several rows in one pipeline. A failed pipeline drops every one of its
 * keys (unless Redis is hanging), as a failed single write drops its own.
 */
export async function cacheTransactions(env: RedisEnv, rows: CachedTransaction[]): Promise<void> {
  const redis = getRedis(env);
  if (!redis || rows.length === 0) return;
  const written = await compareAndSetAll(redis, "cache transactions", rows);
  if (!written.ok && !written.timedOut) await attemptRedis("drop stale transaction hashes", () => redis.del(...rows.map((row) => transactionKey(row.id))));
}

/**
 * Cron: rewrites the hashes of these settled rows in one pipeline (compare-and-set, so a newer
 * hash is kept). Heals a final status whose write was lost while Redis was unreachable.
 */
export async function refreshSettled(env: RedisEnv, rows: CachedTransaction[]): Promise<number> {
  const redis = getRedis(env);
  if (!redis || rows.length === 0) return 0;
  const done = await compareAndSetAll(redis, "refresh settled transaction hashes", rows);
  return done.ok ? (done.value as unknown[]).filter((r) => Number(r) === 1).length : 0;
}

/**
 * The hash (null on a miss or a partial hash), and whether Redis answered at all: when it did
 * not, the caller reads D1 and does not try to rebuild the hash in the same request.
 */
export async function readCachedTransaction(env: RedisEnv, id: string): Promise<{ hash: Record<string, string> | null; reachable: boolean }> {
  const redis = getRedis(env);
  if (!redis) return { hash: null, reachable: false };
  const raw = await attemptRedis("hgetall transaction", () => redis.hgetall(transactionKey(id)) as Promise<unknown>);
  if (!raw.ok) return { hash: null, reachable: false };
  const hash = hashFields(raw.value);
  if (!hash || !hash.user_id || !hash.status || !hash.created_at || !hash.amount) return { hash: null, reachable: true };
  return { hash, reachable: true };
}

/**
 * With automatic deserialisation off (getRedis), HGETALL arrives as the raw reply
 * `[field, value, field, value, ...]`; an object form is accepted too.
 */
export function hashFields(raw: unknown): Record<string, string> | null {
  if (!raw) return null;
  if (Array.isArray(raw)) {
    if (raw.length === 0) return null;
    const fields: Record<string, string> = {};
    for (let i = 0; i + 1 < raw.length; i += 2) fields[String(raw[i])] = String(raw[i + 1]);
    return fields;
  }
  if (typeof raw === "object") return Object.fromEntries(Object.entries(raw as Record<string, unknown>).map(([k, v]) => [k, String(v)]));
  return null;
}
