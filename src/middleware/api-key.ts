import { and, eq, isNull } from "drizzle-orm";
import { createMiddleware } from "hono/factory";
import { createDb } from "../db/client";
import { apiKeys } from "../db/schema";
import type { AppBindings } from "../env";
import { ApiError, ErrorCode } from "../lib/errors";
import { sha256Hex } from "../lib/crypto";

/**
 * A sent `X-API-Key` must be valid (on health an invalid one is ignored instead: the public
 * answer, never a 401 a load balancer would read as down); `REQUIRE_API_KEY=true` makes one
 * mandatory outside the health and docs routes (on a WebSocket it may come as a subprotocol,
 * see API_KEY_PROTOCOL_PREFIX). Valid keys are remembered per isolate for a minute so hot paths
 * (the till's scan) pay no extra D1 round trip; a revocation takes effect within that minute.
 */
const CACHE_MS = 60_000;
const validKeys = new Map<string, { until: number; id: number; scopes: string[] }>();

/** Probes, docs, images that browsers load by URL (an <img> cannot send a header), and opt-out links people follow from a message. */
export const API_KEY_EXEMPT = [/^\/api\/v1\/health/, /^\/health\//, /^\/api\/docs/, /^\/api\/openapi\.json/, /^\/api\/v1\/media\//, /^\/api\/v1\/opt-out\//];

/**
 * Browsers cannot set headers on a WebSocket: there the key may travel as a subprotocol offered
 * beside the others, `apikey.<key>` (API keys are made of subprotocol-safe characters).
 */
export const API_KEY_PROTOCOL_PREFIX = "apikey.";

function keyOf(c: { req: { header(name: string): string | undefined } }): string | undefined {
  const header = c.req.header("x-api-key");
  if (header || c.req.header("upgrade")?.toLowerCase() !== "websocket") return header;
  const offered = c.req.header("sec-websocket-protocol")?.split(",").map((p) => p.trim()) ?? [];
  return offered.find((p) => p.startsWith(API_KEY_PROTOCOL_PREFIX))?.slice(API_KEY_PROTOCOL_PREFIX.length) || undefined;
}

/** Health answers more to a valid key and stays up for a bad one. */
const HEALTH_PATHS = [/^\/api\/v1\/health(\/|$)/, /^\/health\//];

export const apiKeyCheck = createMiddleware<AppBindings>(async (c, next) => {
  const key = keyOf(c);
  if (!key) {
    const required = c.env.REQUIRE_API_KEY === "true" && !API_KEY_EXEMPT.some((re) => re.test(c.req.path));
    if (required) throw new ApiError(401, ErrorCode.API_KEY_REQUIRED, "An X-API-Key header is required.");
    return next();
  }
  const hash = await sha256Hex(key);
  let cached = validKeys.get(hash);
  if (!cached || cached.until < Date.now()) {
    const row = await createDb(c.env.DB).query.apiKeys.findFirst({
      where: and(eq(apiKeys.keyHash, hash), isNull(apiKeys.revokedAt)),
      columns: { id: true, scopes: true },
    });
    if (!row) {
      validKeys.delete(hash);
      if (HEALTH_PATHS.some((re) => re.test(c.req.path))) return next();
      throw new ApiError(401, ErrorCode.API_KEY_INVALID, "The X-API-Key is not valid.");
    }
    cached = { until: Date.now() + CACHE_MS, id: row.id, scopes: row.scopes.split(" ").filter(Boolean) };
    validKeys.set(hash, cached);
  }
  c.set("apiKey", { id: cached.id, scopes: cached.scopes });
  await next();
});

/** Forget cached keys (after a revocation in this isolate). */
export function forgetApiKey(hash?: string) {
  if (hash) validKeys.delete(hash);
  else validKeys.clear();
}
