import { createMiddleware } from "hono/factory";
import type { AppBindings } from "../env";
import { ApiError, ErrorCode, validationError } from "../lib/errors";
import { sha256Hex } from "../lib/crypto";

const KEY_FORMAT = /^[A-Za-z0-9._:-]{8,128}$/;

/**
 * An in-progress claim older than this belongs to a request that died (a Worker request does not
 * run this long): a retry with the same body takes it over. What that request already did is
 * still done once: money moves through the wallet, whose own idempotency key replays it.
 */
export const IDEMPOTENCY_CLAIM_TIMEOUT_SECONDS = 120;

/**
 * `Idempotency-Key` for POSTs that move money or create one-time artefacts. Same key + same body
 * replays the first response; same key + another body is 422; a concurrent duplicate while the
 * first is running is 409. The claim is one upsert on the primary key (a new claim, or taking
 * over a stale one), so exactly one request runs; its random token makes sure only the holder
 * stores or releases the answer. A failed first attempt (5xx) releases the key so the client can
 * retry.
 */
export const idempotency = createMiddleware<AppBindings>(async (c, next) => {
  const key = c.req.header("idempotency-key");
  // Reads are naturally idempotent; only writes are claimed and replayed.
  if (!key || c.req.method === "GET" || c.req.method === "HEAD") return next();
  if (!KEY_FORMAT.test(key)) throw validationError("Idempotency-Key must be 8 to 128 characters of letters, digits, '.', '_', ':' or '-'.");

  const caller = c.get("auth")?.userId ?? "anonymous";
  const scope = `${caller}:${c.req.method}:${c.req.path.replace(/\/$/, "")}:${key}`;
  const requestHash = await sha256Hex(await c.req.raw.clone().text());
  const db = c.env.DB;

  const now = new Date();
  const token = crypto.randomUUID();
  const claimed = await db
    .prepare(
      `INSERT INTO idempotency_keys (scope, request_hash, state, claimed_at, claim_token) VALUES (?1, ?2, 'in_progress', ?3, ?4)
       ON CONFLICT (scope) DO UPDATE SET claimed_at = excluded.claimed_at, claim_token = excluded.claim_token
        WHERE idempotency_keys.state = 'in_progress' AND idempotency_keys.request_hash = excluded.request_hash
          AND COALESCE(idempotency_keys.claimed_at, strftime('%Y-%m-%dT%H:%M:%fZ', idempotency_keys.created_at)) < ?5
       RETURNING claim_token`,
    )
    .bind(scope, requestHash, now.toISOString(), token, new Date(now.getTime() - IDEMPOTENCY_CLAIM_TIMEOUT_SECONDS * 1000).toISOString())
    .first<{ claim_token: string }>();
  if (claimed?.claim_token !== token) {
    const prior = await db
      .prepare("SELECT request_hash, state, response_status, response_body FROM idempotency_keys WHERE scope = ?")
      .bind(scope)
      .first<{ request_hash: string; state: string; response_status: number; response_body: string }>();
    if (prior && prior.request_hash !== requestHash)
      throw new ApiError(422, ErrorCode.IDEMPOTENCY_KEY_REUSED, "This Idempotency-Key was already used with a different request body.");
    if (!prior || prior.state !== "done")
      throw new ApiError(409, ErrorCode.IDEMPOTENCY_IN_PROGRESS, "A request with this Idempotency-Key is still being processed.", {
        retry_after_seconds: IDEMPOTENCY_CLAIM_TIMEOUT_SECONDS,
      });
    return new Response(prior.response_body, {
      status: prior.response_status,
      headers: { "Content-Type": "application/json", "Idempotent-Replayed": "true", "Cache-Control": "no-store" },
    });
  }

  const release = () => db.prepare("DELETE FROM idempotency_keys WHERE scope = ? AND claim_token = ?").bind(scope, token).run();
  try {
    await next();
  } catch (error) {
    await release();
    throw error;
  }
  const status = c.res.status;
  if (status >= 500) {
    await release();
    return;
  }
  const body = await c.res.clone().text();
  await db
    .prepare("UPDATE idempotency_keys SET state = 'done', response_status = ?, response_body = ? WHERE scope = ? AND claim_token = ?")
    .bind(status, body, scope, token)
    .run();
});
