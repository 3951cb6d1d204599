import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import type { AppBindings } from "../env";
import { ApiError, ErrorCode, validationError } from "../lib/errors";
import { sha256Hex } from "../lib/crypto";
import { afterRefusedClaim, answerExpression, claimStatements, isClaimConflict, type StoredAnswer } from "../lib/claim-in-batch";

const KEY_FORMAT = /^[A-Za-z0-9._:-]{8,128}$/;

/**
 * An in-progress claim older than this belongs to a request that died (a Worker request does not
 * run this long): a retry with the same body takes it over. What that request already did is
 * still done once: money moves through the wallet, whose own idempotency key replays it.
 */
export const IDEMPOTENCY_CLAIM_TIMEOUT_SECONDS = 120;

/** What the first request with a key left: its body's hash, its state and, when done, its answer. */
export interface PriorClaim {
  request_hash: string;
  state: string;
  response_status: number | null;
  response_body: string | null;
}

/** A request's claim on its Idempotency-Key. */
export interface Claim {
  scope: string;
  requestHash: string;
  /** Random per request: only the holder stores or releases the answer. */
  token: string;
  claimedAt: string;
  /** An in-progress claim made before this is dead and may be taken over. */
  staleBefore: string;
}

const inProgress = () =>
  new ApiError(409, ErrorCode.IDEMPOTENCY_IN_PROGRESS, "A request with this Idempotency-Key is still being processed.", {
    retry_after_seconds: IDEMPOTENCY_CLAIM_TIMEOUT_SECONDS,
  });

/**
 * Thrown by walletApply or batchWithClaim when the batch found the key already claimed (nothing
 * was written); the middleware answers from the prior claim. A 409 if it ever escapes.
 */
export class IdempotencyConflict extends ApiError {
  constructor(readonly prior: PriorClaim | null) {
    super(409, ErrorCode.IDEMPOTENCY_IN_PROGRESS, "A request with this Idempotency-Key is still being processed.", {
      retry_after_seconds: IDEMPOTENCY_CLAIM_TIMEOUT_SECONDS,
    });
  }
}

/** The stored answer replayed, or the 422 / 409 the prior claim calls for. */
function answerFromPrior(prior: PriorClaim | null, requestHash: string): Response {
  if (prior && prior.request_hash !== requestHash)
    throw new ApiError(422, ErrorCode.IDEMPOTENCY_KEY_REUSED, "This Idempotency-Key was already used with a different request body.");
  if (!prior || prior.state !== "done") throw inProgress();
  return new Response(prior.response_body, {
    status: prior.response_status ?? 200,
    headers: { "Content-Type": "application/json", "Idempotent-Replayed": "true", "Cache-Control": "no-store" },
  });
}

const priorClaim = (db: D1Database, scope: string) =>
  db.prepare("SELECT request_hash, state, response_status, response_body FROM idempotency_keys WHERE scope = ?").bind(scope).first<PriorClaim>();

const JSON_TYPE = /^application\/([\w.-]+\+)?json\b/i;

/**
 * The body through Hono's cache, which the validator and parseBody then read from: the body is
 * read once instead of teed for a clone. JSON as text (the validator parses that text as is);
 * anything else as bytes, so a file in a form is hashed, and later parsed, as sent.
 */
const bodyOnce = (c: Context<AppBindings>): Promise<string | ArrayBuffer> =>
  JSON_TYPE.test(c.req.header("content-type") ?? "") ? c.req.text() : c.req.arrayBuffer();

/** The claim of a write with an Idempotency-Key, or null (no key, or a read). */
async function claimOf(c: Context<AppBindings>): Promise<Claim | null> {
  const key = c.req.header("idempotency-key");
  // Reads are naturally idempotent; only writes are claimed and replayed.
  if (!key || c.req.method === "GET" || c.req.method === "HEAD") return null;
  if (!KEY_FORMAT.test(key)) throw validationError("Idempotency-Key must be 8 to 128 characters of letters, digits, '.', '_', ':' or '-'.");
  const caller = c.get("auth")?.userId ?? "anonymous";
  const now = Date.now();
  return {
    scope: `${caller}:${c.req.method}:${c.req.path.replace(/\/$/, "")}:${key}`,
    requestHash: await sha256Hex(await bodyOnce(c)),
    token: crypto.randomUUID(),
    claimedAt: new Date(now).toISOString(),
    staleBefore: new Date(now - IDEMPOTENCY_CLAIM_TIMEOUT_SECONDS * 1000).toISOString(),
  };
}

/**
 * The claim as one upsert on the primary key: a new claim, or taking over a dead one (same body,
 * in progress for longer than the timeout). Returns whether this request holds it. With `answer`
 * it is stored done at once (a request that answered before claiming anything).
 */
async function upsertClaim(db: D1Database, claim: Claim, answer?: { status: number; body: string }): Promise<boolean> {
  const row = await db
    .prepare(
      `INSERT INTO idempotency_keys (scope, request_hash, state, claimed_at, claim_token, response_status, response_body) VALUES (?1, ?2, ?6, ?3, ?4, ?7, ?8)
       ON CONFLICT (scope) DO UPDATE SET state = excluded.state, claimed_at = excluded.claimed_at, claim_token = excluded.claim_token,
              response_status = excluded.response_status, response_body = excluded.response_body
        WHERE idempotency_keys.state = 'in_progress' AND idempotency_keys.request_hash = excluded.request_hash
          AND COALESCE(idempotency_keys.claimed_at, strftime('%Y-%m-%dT%H:%M:%fZ', idempotency_keys.created_at)) < ?5
       RETURNING claim_token`,
    )
    .bind(claim.scope, claim.requestHash, claim.claimedAt, claim.token, claim.staleBefore, answer ? "done" : "in_progress", answer?.status ?? null, answer?.body ?? null)
    .first<{ claim_token: string }>();
  return row?.claim_token === claim.token;
}

/**
 * `Idempotency-Key` for POSTs that move money or create one-time artefacts. Same key + same body
 * replays the first response; same key + another body is 422; a concurrent duplicate while the
 * first is running is 409. The claim comes first (one upsert), so exactly one request runs; its
 * random token makes sure only the holder stores or releases the answer. A failed first attempt
 * (5xx) releases the key so the client can retry.
 */
export const idempotency = createMiddleware<AppBindings>(async (c, next) => {
  const claim = await claimOf(c);
  if (!claim) return next();
  const db = c.env.DB;
  if (!(await upsertClaim(db, claim))) return answerFromPrior(await priorClaim(db, claim.scope), claim.requestHash);

  const release = () => db.prepare("DELETE FROM idempotency_keys WHERE scope = ? AND claim_token = ?").bind(claim.scope, claim.token).run();
  await next();
  const status = c.res.status;
  if (status >= 500) {
    await release();
    return;
  }
  const body = await c.res.clone().text();
  await db
    .prepare("UPDATE idempotency_keys SET state = 'done', response_status = ?, response_body = ? WHERE scope = ? AND claim_token = ?")
    .bind(status, body, claim.scope, claim.token)
    .run();
});

/**
 * Where a deferred claim stands: `pending` until the route's batch commits it; then `claimed`
 * (an in-progress row, the answer stored after the handler) or `answered` (the answer committed in
 * that batch too).
 */
interface DeferredClaim extends Claim {
  state: "pending" | "claimed" | "answered";
}

/** Per request: the env object the middleware hands on is the request's own. */
const deferred = new WeakMap<object, DeferredClaim>();

/** For walletApply and batchWithClaim: the request's claim, if it has one not yet committed. */
export function pendingClaim(env: object): Claim | null {
  const claim = deferred.get(env);
  return claim?.state === "pending" ? claim : null;
}

/** For walletApply and batchWithClaim: the batch committed the claim (with the answer, or in progress). */
export function claimCommitted(env: object, answered: boolean) {
  const claim = deferred.get(env);
  if (claim) claim.state = answered ? "answered" : "claimed";
}

/**
 * For a route whose answer changed after its batch stored it (a queue send that failed after the
 * commit): the stored answer becomes `body`, so a replay says what this request answered.
 */
export async function replaceStoredAnswer(env: { DB: D1Database }, body: unknown) {
  const claim = deferred.get(env);
  if (claim?.state !== "answered") return;
  await env.DB.prepare("UPDATE idempotency_keys SET response_body = ? WHERE scope = ? AND claim_token = ? AND state = 'done'")
    .bind(JSON.stringify(body), claim.scope, claim.token)
    .run();
}

/**
 * The same contract as `idempotency`, for a route whose one write is one D1 batch, either the
 * wallet's (`walletApply`) or its own (`batchWithClaim`), and which does nothing before it but
 * read: the claim is not a round trip of its own but rides in that batch, with the answer when the
 * route gives it (`WalletOperation.answer`, or `batchWithClaim`'s `answer`), so the batch is the
 * claim, the writes and the stored answer at once. Two requests with one key both get as far as the
 * batch; the second's fails on the claim, or for money on the ledger key derived from it (nothing
 * of it is written), and replays the first's answer (or 409 / 422 as above). A request that answers without reaching the batch (a 404, a refused
 * balance) stores its answer in one upsert afterwards, unless another was stored first, which is
 * then the answer.
 */
export const idempotencyInBatch = createMiddleware<AppBindings>(async (c, next) => {
  const found = await claimOf(c);
  if (!found) return next();
  const claim: DeferredClaim = { ...found, state: "pending" };
  deferred.set(c.env, claim);
  await next();
  const db = c.env.DB;
  if (c.error instanceof IdempotencyConflict) {
    c.res = answerFromPrior(c.error.prior, claim.requestHash);
    return;
  }
  const status = c.res.status;
  if (claim.state === "answered") return;
  if (claim.state === "claimed") {
    if (status >= 500) {
      await db.prepare("DELETE FROM idempotency_keys WHERE scope = ? AND claim_token = ?").bind(claim.scope, claim.token).run();
      return;
    }
    await db
      .prepare("UPDATE idempotency_keys SET state = 'done', response_status = ?, response_body = ? WHERE scope = ? AND claim_token = ?")
      .bind(status, await c.res.clone().text(), claim.scope, claim.token)
      .run();
    return;
  }
  // Pending: nothing of this request was claimed (it answered before its batch, or the wallet replayed a debit).
  if (status >= 500) return;
  const body = await c.res.clone().text();
  if (!(await upsertClaim(db, claim, { status, body }))) c.res = answerFromPrior(await priorClaim(db, claim.scope), claim.requestHash);
});

/**
 * A route's one write behind `idempotencyInBatch`: the request's pending claim goes first in the
 * batch and `answer` (when given, and its `onlyIf` holds) is stored done at its end. Without a
 * pending claim it is a plain batch. Returns the results of `statements` only. A key another
 * request holds throws IdempotencyConflict, with nothing written.
 */
export async function batchWithClaim<T = unknown>(env: { DB: D1Database }, statements: D1PreparedStatement[], answer?: StoredAnswer): Promise<D1Result<T>[]> {
  const claim = pendingClaim(env);
  if (!claim) return env.DB.batch<T>(statements);
  const { first, last } = claimStatements(env.DB, claim, answer);
  const results = await batchClaiming<T>(env, claim, [...first, ...statements, ...last], last.length > 0);
  return results.slice(first.length, first.length + statements.length);
}

/**
 * `batchWithClaim` for a route whose answer is made in SQL at the batch's end (`answer.fillRow`,
 * `answer.fill`): returns the results of `statements` and that answer, or null where `onlyIf` did
 * not hold. With a claim it is the answer stored (the store returns it); without one, one more
 * statement of the batch reads it. The route writes its answer once, for both.
 */
export async function batchWithAnswer<A>(env: { DB: D1Database }, statements: D1PreparedStatement[], answer: StoredAnswer): Promise<{ results: D1Result[]; answer: A | null }> {
  const claim = pendingClaim(env);
  const parse = (result: D1Result) => {
    const body = (result.results[0] as { response_body?: string | null } | undefined)?.response_body;
    return body ? (JSON.parse(body) as A) : null;
  };
  if (!claim) {
    const expression = answerExpression(answer);
    const read = env.DB.prepare(`SELECT ${expression.sql} AS response_body WHERE ${answer.onlyIf?.sql ?? "1"}`).bind(...expression.params, ...(answer.onlyIf?.params ?? []));
    const results = await env.DB.batch([...statements, read]);
    return { results: results.slice(0, statements.length), answer: parse(results[statements.length]!) };
  }
  const { first, last } = claimStatements(env.DB, claim, answer);
  const results = await batchClaiming(env, claim, [...first, ...statements, ...last], true);
  return { results: results.slice(first.length, first.length + statements.length), answer: parse(results[results.length - 1]!) };
}

/** Runs a batch that starts with the claim; `stores`: its last statement stores the answer. */
async function batchClaiming<T>(env: { DB: D1Database }, claim: Claim, batch: D1PreparedStatement[], stores: boolean): Promise<D1Result<T>[]> {
  for (let retried = false; ; retried = true) {
    try {
      const results = await env.DB.batch<T>(batch);
      claimCommitted(env, stores && results[results.length - 1]!.meta.changes === 1);
      return results;
    } catch (error) {
      if (!isClaimConflict(error)) throw error;
      const outcome = await afterRefusedClaim(env.DB, claim, retried);
      if (!outcome.retry) throw new IdempotencyConflict(outcome.prior);
    }
  }
}
