import type { Env } from "../../env";
import { getRedis, tryRedis } from "../../lib/redis";
import { formatAmount } from "../../lib/money";

/**
 * The spec's Redis hash `transaction:<id>`: status, amount ("20.00"), user_id, offer_id,
 * created_at, updated_at. A write-through cache of the D1 row; D1 is always written first.
 */
export const transactionKey = (id: string) => `transaction:${id}`;
/** Finished activations are rarely polled after a month; the hash is rebuilt from D1 on a miss. */
const HASH_TTL_SECONDS = 30 * 86_400;

export interface CachedTransaction {
  id: string;
  user_id: number;
  status: string;
  amount: number;
  offer_id: number | null;
  created_at: string;
  updated_at: string;
}

type RedisEnv = Pick<Env, "UPSTASH_REDIS_REST_URL" | "UPSTASH_REDIS_REST_TOKEN">;

async function hset(env: RedisEnv, id: string, fields: Record<string, string>, what: string): Promise<void> {
  const redis = getRedis(env);
  if (!redis) return;
  await tryRedis(
    what,
    async () => {
      const pipeline = redis.pipeline();
      pipeline.hset(transactionKey(id), fields);
      pipeline.expire(transactionKey(id), HASH_TTL_SECONDS);
      await pipeline.exec();
    },
    undefined,
  );
}

export function cacheTransaction(env: RedisEnv, tx: CachedTransaction): Promise<void> {
  return hset(
    env,
    tx.id,
    {
      status: tx.status,
      amount: formatAmount(tx.amount),
      user_id: String(tx.user_id),
      offer_id: tx.offer_id === null ? "" : String(tx.offer_id),
      created_at: tx.created_at,
      updated_at: tx.updated_at,
    },
    "hset transaction",
  );
}

/** Only the fields a status change touches, as the spec's "Updating transaction status" shows. */
export function cacheStatusChange(env: RedisEnv, id: string, status: string, updatedAt: string): Promise<void> {
  return hset(env, id, { status, updated_at: updatedAt }, "hset transaction status");
}

/** The hash, or null on a miss, a Redis error, or a partial hash (only a status update landed). */
export async function readCachedTransaction(env: RedisEnv, id: string): Promise<Record<string, string> | null> {
  const redis = getRedis(env);
  if (!redis) return null;
  const raw = await tryRedis("hgetall transaction", () => redis.hgetall(transactionKey(id)) as Promise<unknown>, null);
  const hash = hashFields(raw);
  if (!hash || !hash.user_id || !hash.status || !hash.created_at || !hash.amount) return null;
  return hash;
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
