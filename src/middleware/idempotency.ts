import { createMiddleware } from "hono/factory";
import type { AppBindings } from "../env";
import { ApiError, ErrorCode, validationError } from "../lib/errors";
import { sha256Hex } from "../lib/crypto";

const KEY_FORMAT = /^[A-Za-z0-9._:-]{8,128}$/;

/**
 * `Idempotency-Key` for POSTs that move money or create one-time artefacts. Same key + same body
 * replays the first response; same key + another body is 422; a concurrent duplicate while the
 * first is running is 409. The claim is an INSERT on a primary key, so exactly one request runs.
 * A failed first attempt (5xx) releases the key so the client can retry.
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

  const claimed = await db
    .prepare("INSERT INTO idempotency_keys (scope, request_hash, state) VALUES (?, ?, 'in_progress') ON CONFLICT (scope) DO NOTHING")
    .bind(scope, requestHash)
    .run();
  if (claimed.meta.changes === 0) {
    const prior = await db
      .prepare("SELECT request_hash, state, response_status, response_body FROM idempotency_keys WHERE scope = ?")
      .bind(scope)
      .first<{ request_hash: string; state: string; response_status: number; response_body: string }>();
    if (prior && prior.request_hash !== requestHash)
      throw new ApiError(422, ErrorCode.IDEMPOTENCY_KEY_REUSED, "This Idempotency-Key was already used with a different request body.");
    if (!prior || prior.state !== "done")
      throw new ApiError(409, ErrorCode.IDEMPOTENCY_IN_PROGRESS, "A request with this Idempotency-Key is still being processed.");
    return new Response(prior.response_body, {
      status: prior.response_status,
      headers: { "Content-Type": "application/json", "Idempotent-Replayed": "true", "Cache-Control": "no-store" },
    });
  }

  try {
    await next();
  } catch (error) {
    await db.prepare("DELETE FROM idempotency_keys WHERE scope = ?").bind(scope).run();
    throw error;
  }
  const status = c.res.status;
  if (status >= 500) {
    await db.prepare("DELETE FROM idempotency_keys WHERE scope = ?").bind(scope).run();
    return;
  }
  const body = await c.res.clone().text();
  await db
    .prepare("UPDATE idempotency_keys SET state = 'done', response_status = ?, response_body = ? WHERE scope = ?")
    .bind(status, body, scope)
    .run();
});
