// The SQL of an Idempotency-Key claim that rides in a write's own D1 batch (the wallet object's
// batch, or a feature's): the claim INSERT goes first, so a UNIQUE refusal aborts the batch before
// anything else is written, and the answer is stored last, so claim, writes and answer commit as one.
import type { Claim, PriorClaim } from "../middleware/idempotency";
import { isUniqueViolation } from "./d1-errors";

/**
 * The answer a route gives when its batch succeeds, stored with the claim at the batch's end.
 * `body` is the JSON answer; each `fill` puts the value of a scalar SQL expression, evaluated at
 * the end of the batch, at a JSON path of it (a row id, the balance after), so a replay gives what
 * the first request answered. `onlyIf`, an SQL condition, stores it only when the batch did what
 * the answer says (a guarded UPDATE that changed nothing stores nothing; the route's real answer is
 * stored after it).
 */
export interface StoredAnswer {
  status: number;
  body: unknown;
  /**
   * Fields of `body` read from one row by one query, where several fields come from the same
   * joined row: `columns` maps a JSON path to an SQL expression over `from` (its `FROM ... WHERE`
   * clause, with `params`). Applied before `fill`.
   */
  fillRow?: { columns: Record<string, string>; from: string; params: unknown[] };
  fill?: { path: string; sql: string; params: unknown[] }[];
  onlyIf?: { sql: string; params: unknown[] };
}

/** The answer as one SQL expression: the body with `fillRow` and `fill` applied, and its parameters. */
export function answerExpression(answer: StoredAnswer): { sql: string; params: unknown[] } {
  const row = answer.fillRow;
  const columns = row ? Object.entries(row.columns) : [];
  // json_set's first argument is parsed as JSON text, so the row's query may hand the body on as text.
  const base = row ? `(SELECT json_set(?${columns.map(([, expression]) => `, ?, ${expression}`).join("")}) ${row.from})` : "?";
  const fill = answer.fill ?? [];
  return {
    sql: `json_set(${base}${fill.map((f) => `, ?, (${f.sql})`).join("")})`,
    params: [JSON.stringify(answer.body), ...columns.map(([path]) => path), ...(row?.params ?? []), ...fill.flatMap((f) => [f.path, ...f.params])],
  };
}

/**
 * The claim's statements: `first` go before the route's writes, `last` after them.
 *
 * By default the claim is an INSERT first (another request's claim aborts the batch before
 * anything is written) and, with an answer, an UPDATE last that stores it and returns it. With `claimLast`, the
 * claim is one INSERT at the end, already `done` with the answer: for a batch that refuses a
 * repeat by itself before that (the wallet's ledger key, derived from the Idempotency-Key), which
 * saves a statement; `onlyIf` has no meaning there.
 */
export function claimStatements(
  db: D1Database,
  claim: Claim | undefined,
  answer?: StoredAnswer,
  claimLast = false,
): { first: D1PreparedStatement[]; last: D1PreparedStatement[] } {
  if (!claim) return { first: [], last: [] };
  const claimRow = () =>
    db
      .prepare("INSERT INTO idempotency_keys (scope, request_hash, state, claimed_at, claim_token) VALUES (?, ?, 'in_progress', ?, ?)")
      .bind(claim.scope, claim.requestHash, claim.claimedAt, claim.token);
  if (!answer) return claimLast ? { first: [], last: [claimRow()] } : { first: [claimRow()], last: [] };
  const { sql: answerSql, params: answerParams } = answerExpression(answer);
  if (claimLast) {
    if (answer.onlyIf) throw new Error("a claim stored last cannot be conditional");
    const done = db
      .prepare(`INSERT INTO idempotency_keys (scope, request_hash, state, claimed_at, claim_token, response_status, response_body) VALUES (?, ?, 'done', ?, ?, ?, ${answerSql})`)
      .bind(claim.scope, claim.requestHash, claim.claimedAt, claim.token, answer.status, ...answerParams);
    return { first: [], last: [done] };
  }
  const condition = answer.onlyIf ? ` AND (${answer.onlyIf.sql})` : "";
  const store = db
    .prepare(`UPDATE idempotency_keys SET state = 'done', response_status = ?, response_body = ${answerSql} WHERE scope = ? AND claim_token = ?${condition} RETURNING response_body`)
    .bind(answer.status, ...answerParams, claim.scope, claim.token, ...(answer.onlyIf?.params ?? []));
  return { first: [claimRow()], last: [store] };
}

/** The batch failed because another request holds the key (nothing of it was written). */
export const isClaimConflict = (error: unknown) => isUniqueViolation(error, "idempotency_keys.scope");

/**
 * After a refused claim: a dead claim (in progress past the timeout, same body) is removed, and
 * the caller runs its batch once more (`retry`); otherwise the prior claim decides the answer.
 */
export async function afterRefusedClaim(db: D1Database, claim: Claim, alreadyRetried: boolean): Promise<{ retry: true } | { retry: false; prior: PriorClaim | null }> {
  const prior = await db
    .prepare(
      `SELECT request_hash, state, response_status, response_body,
              COALESCE(claimed_at, strftime('%Y-%m-%dT%H:%M:%fZ', created_at)) < ? AS dead FROM idempotency_keys WHERE scope = ?`,
    )
    .bind(claim.staleBefore, claim.scope)
    .first<PriorClaim & { dead: number }>();
  if (!alreadyRetried && prior && prior.dead === 1 && prior.state === "in_progress" && prior.request_hash === claim.requestHash) {
    await db
      .prepare("DELETE FROM idempotency_keys WHERE scope = ? AND state = 'in_progress' AND COALESCE(claimed_at, strftime('%Y-%m-%dT%H:%M:%fZ', created_at)) < ?")
      .bind(claim.scope, claim.staleBefore)
      .run();
    return { retry: true };
  }
  if (!prior) return { retry: false, prior: null };
  const { dead: _dead, ...rest } = prior;
  return { retry: false, prior: rest };
}
