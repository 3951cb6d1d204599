import { createMiddleware } from "hono/factory";
import type { AppBindings, Env } from "../../env";
import { ApiError, ErrorCode } from "../../lib/errors";
import { hmacSha256Hex, timingSafeEqual } from "../../lib/crypto";
import { nowIso } from "../../lib/time";

/** Requests older (or further in the future) than this are refused, and nonces are kept this long. */
export const PARTNER_MAX_SKEW_SECONDS = 300;
export const PARTNER_NONCE_SOURCE = "partner";

export const PARTNER_REQUEST_HEADERS = {
  timestamp: "X-Partner-Timestamp",
  nonce: "X-Partner-Nonce",
  signature: "X-Partner-Signature",
} as const;

/** What a partner signs: `<timestamp>.<nonce>.<METHOD>.<path without trailing slash>.<raw body>`. */
export function partnerSigningString(timestamp: string, nonce: string, method: string, path: string, body: string): string {
  return `${timestamp}.${nonce}.${method.toUpperCase()}.${path.replace(/\/+$/, "")}.${body}`;
}

const invalid = (message: string) => new ApiError(401, ErrorCode.INVALID_SIGNATURE, message);

/**
 * Partner requests: HMAC-SHA256 with PARTNER_API_SECRET over timestamp, nonce, method, path and
 * body. The nonce is stored only after the signature checks out (so strangers cannot fill the
 * table), and a nonce seen before is a replay.
 */
export const partnerAuth = createMiddleware<AppBindings>(async (c, next) => {
  const secret = c.env.PARTNER_API_SECRET;
  if (!secret) throw new ApiError(503, ErrorCode.SERVICE_UNAVAILABLE, "Partner requests are not configured on this server.");
  const timestamp = c.req.header(PARTNER_REQUEST_HEADERS.timestamp) ?? "";
  const nonce = c.req.header(PARTNER_REQUEST_HEADERS.nonce) ?? "";
  const signature = c.req.header(PARTNER_REQUEST_HEADERS.signature) ?? "";
  if (!/^\d{1,12}$/.test(timestamp) || !/^[A-Za-z0-9._:-]{8,128}$/.test(nonce) || !signature)
    throw invalid("Partner requests need X-Partner-Timestamp, X-Partner-Nonce and X-Partner-Signature headers.");
  if (Math.abs(Math.floor(Date.now() / 1000) - Number(timestamp)) > PARTNER_MAX_SKEW_SECONDS)
    throw invalid("The partner request timestamp is more than 5 minutes away from the server's clock.");

  const body = await c.req.raw.clone().text();
  const expected = `sha256=${await hmacSha256Hex(secret, partnerSigningString(timestamp, nonce, c.req.method, c.req.path, body))}`;
  if (!timingSafeEqual(expected, signature)) throw invalid("The partner request signature is not valid.");

  const stored = await c.env.DB.prepare("INSERT INTO webhook_nonces (nonce, source, created_at) VALUES (?, ?, ?) ON CONFLICT (nonce) DO NOTHING")
    .bind(`${PARTNER_NONCE_SOURCE}:${nonce}`, PARTNER_NONCE_SOURCE, nowIso())
    .run();
  if (stored.meta.changes === 0) throw new ApiError(409, ErrorCode.REPLAYED_REQUEST, "This partner request was already received (nonce reused).");
  await next();
});

/** Cron: a nonce older than twice the accepted skew can no longer be replayed (its timestamp is refused first). */
export async function prunePartnerNonces(env: Pick<Env, "DB">, at: Date) {
  const cutoff = new Date(at.getTime() - 2 * PARTNER_MAX_SKEW_SECONDS * 1000).toISOString();
  const deleted = await env.DB.prepare("DELETE FROM webhook_nonces WHERE source = ? AND created_at < ?").bind(PARTNER_NONCE_SOURCE, cutoff).run();
  return { deleted: deleted.meta.changes };
}
