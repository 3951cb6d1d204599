import type { Context, TypedResponse } from "hono";
import { onWrite } from "../db/request-db";
import type { AppBindings, Env } from "../env";
import { toHex } from "./crypto";

/**
 * A per-isolate cache for read-mostly data: the offers catalogue, categories, site settings and
 * anonymous public voucher pages. The bound: an entry is served at most `READ_CACHE_SECONDS`
 * (default 10; `0` turns the cache off) after it was read from D1, and a write made by this
 * isolate to a table an entry was read from drops that entry at once. Writes made elsewhere
 * (another isolate, the wallet's Durable Object, a cron job) are seen within the bound.
 * Anonymous public responses also carry `Cache-Control: public, max-age=PUBLIC_MAX_AGE_SECONDS`
 * and an `ETag` (a matching `If-None-Match` gets a 304), so browsers and shared caches in front
 * of the API may keep them that long.
 */
export const DEFAULT_READ_CACHE_SECONDS = 10;
export const PUBLIC_MAX_AGE_SECONDS = 30;
const MAX_ENTRIES = 1000;

/** The cache's clock; tests move it instead of waiting. */
export const readCacheClock = { now: () => Date.now() };

interface Entry {
  value: Promise<unknown>;
  /** The load has finished: only then do other requests take the value. */
  settled: boolean;
  expires: number;
  tables: readonly string[];
  generations: number[];
}
const entries = new Map<string, Entry>();
/** Bumped by every write this isolate makes to a table; an entry read before the bump is stale. */
const generations = new Map<string, number>();
const generation = (table: string) => generations.get(table) ?? 0;

const WRITTEN_TABLE = /^\s*(?:with\b[^]*?\)\s*)?(?:insert(?:\s+or\s+\w+)?\s+into|replace\s+into|update(?:\s+or\s+\w+)?|delete\s+from)\s+["`[]?(\w+)/i;

export function invalidateTable(table: string) {
  generations.set(table, generation(table) + 1);
}

onWrite((sql) => {
  const table = WRITTEN_TABLE.exec(sql)?.[1];
  if (table) invalidateTable(table.toLowerCase());
});

export function readCacheSeconds(env: Pick<Env, "READ_CACHE_SECONDS">): number {
  const value = Number(env.READ_CACHE_SECONDS ?? DEFAULT_READ_CACHE_SECONDS);
  return Number.isFinite(value) && value >= 0 ? value : DEFAULT_READ_CACHE_SECONDS;
}

/**
 * The value under `key`, loaded by `load` and kept within the bound. Requests that miss while a
 * load is running wait for it (for at most SHARED_LOAD_WAIT_MS, see `awaitOtherLoad`). A failed
 * load is not kept.
 */
export function cached<T>(env: Pick<Env, "READ_CACHE_SECONDS">, key: string, tables: readonly string[], load: () => Promise<T>): Promise<T> {
  const seconds = readCacheSeconds(env);
  if (seconds === 0) return load();
  const now = readCacheClock.now();
  const hit = entries.get(key);
  if (hit && hit.expires > now && hit.tables.every((t, i) => generation(t) === hit.generations[i])) {
    if (hit.settled) return hit.value as Promise<T>;
    return awaitOtherLoad(hit.value as Promise<T>, load);
  }
  const entry: Entry = { value: load(), settled: false, expires: now + seconds * 1000, tables, generations: tables.map(generation) };
  entry.value.then(
    () => {
      entry.settled = true;
    },
    () => {
      if (entries.get(key) === entry) entries.delete(key);
    },
  );
  entries.delete(key);
  entries.set(key, entry);
  // Oldest first in a Map: drop the oldest beyond the cap.
  if (entries.size > MAX_ENTRIES) entries.delete(entries.keys().next().value!);
  return entry.value as Promise<T>;
}

/** How long a request that misses waits on another request's load of the same entry before loading for itself. */
export const SHARED_LOAD_WAIT_MS = 250;
const WAITED_TOO_LONG = Symbol("waited too long");

/**
 * Another request's load of the entry is still running. Waiting on it spares D1 one read per
 * concurrent miss (a flash sale's first second, an entry expiring under load: hundreds of requests
 * at once). But the runtime cancels the continuations of a promise whose creating request has
 * ended, so if that request were cancelled (its client gone) its load might never settle: the
 * wait is bounded, and past it (or if that load fails) this request loads for itself.
 */
function awaitOtherLoad<T>(other: Promise<T>, load: () => Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | null = null;
  const waited = new Promise<typeof WAITED_TOO_LONG>((resolve) => (timer = setTimeout(() => resolve(WAITED_TOO_LONG), SHARED_LOAD_WAIT_MS)));
  return Promise.race([other, waited]).then(
    (value) => {
      clearTimeout(timer);
      return value === WAITED_TOO_LONG ? load() : (value as T);
    },
    () => {
      clearTimeout(timer);
      return load();
    },
  );
}

/**
 * `cached`, saying whether the value came from the cache (read by an earlier request, so possibly
 * stale within the bound) rather than loaded by this call: a write that checks such a value in its
 * own batch (a price, the terms of a sale) re-reads only when the check fails.
 */
export async function cachedGuess<T>(env: Pick<Env, "READ_CACHE_SECONDS">, key: string, tables: readonly string[], load: () => Promise<T>): Promise<{ value: T; fromCache: boolean }> {
  let loaded = false;
  const value = await cached(env, key, tables, () => ((loaded = true), load()));
  return { value, fromCache: !loaded };
}

/** The value as `load` reads it now, kept under `key` in place of the one a caller found stale. */
export function reloadCached<T>(env: Pick<Env, "READ_CACHE_SECONDS">, key: string, tables: readonly string[], load: () => Promise<T>): Promise<T> {
  entries.delete(key);
  return cached(env, key, tables, load);
}

interface Rendered {
  body: string;
  /** Computed at the first shared answer of the entry: a signed-in caller's answer has no ETag. */
  etag?: Promise<string>;
}

const encoder = new TextEncoder();

/** The first 12 bytes of the body's SHA-256, in hex. */
async function etagOf(body: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", encoder.encode(body)));
  return `"${toHex(digest.subarray(0, 12))}"`;
}

const matches = (ifNoneMatch: string | undefined, etag: string) =>
  !!ifNoneMatch && (ifNoneMatch.trim() === "*" || ifNoneMatch.split(",").some((tag) => tag.trim().replace(/^W\//, "") === etag));

/**
 * A 200 JSON answer from the cache, rendered once per entry. Anonymous callers may share it
 * (public Cache-Control, ETag, 304 on If-None-Match); signed-in callers keep `no-store`.
 */
export async function cachedJson<T>(
  c: Context<AppBindings>,
  key: string,
  tables: readonly string[],
  load: () => Promise<T>,
  { shared }: { shared: boolean },
): Promise<TypedResponse<T, 200, "json">> {
  return (await cachedResponse(c, key, tables, load, shared)) as unknown as TypedResponse<T, 200, "json">;
}

async function cachedResponse(c: Context<AppBindings>, key: string, tables: readonly string[], load: () => Promise<unknown>, shared: boolean) {
  const rendered: Rendered = await cached(c.env, `json:${key}`, tables, async () => ({ body: JSON.stringify(await load()) }));
  const { body } = rendered;
  if (!shared) return c.body(body, 200, { "Content-Type": "application/json" });
  const etag = await (rendered.etag ??= etagOf(body));
  const headers = {
    "Cache-Control": `public, max-age=${PUBLIC_MAX_AGE_SECONDS}`,
    Vary: "Authorization",
    ETag: etag,
  };
  if (matches(c.req.header("if-none-match"), etag)) return c.body(null, 304, headers);
  return c.body(body, 200, { ...headers, "Content-Type": "application/json" });
}
