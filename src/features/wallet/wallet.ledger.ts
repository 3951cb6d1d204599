import type { TransactionStatus } from "../../db/schema";
import { afterRefusedClaim, claimStatements, isClaimConflict, type StoredAnswer } from "../../lib/claim-in-batch";
import { isNotNullViolation, isUniqueViolation, refusingConstraint } from "../../lib/d1-errors";
import { nowIso } from "../../lib/time";
import { uuid } from "../../lib/ids";
import type { Claim, PriorClaim } from "../../middleware/idempotency";

/** A SQL statement carried to the wallet's Durable Object and run in the same D1 batch as the money. */
export interface SqlStatement {
  sql: string;
  params: unknown[];
}

export interface WalletOperation {
  userId: number;
  /**
   * Signed minor units: negative debits, positive credits. Zero (a free voucher, a free ad) moves
   * no money: no ledger entry and no transaction row, but `statements` still commit as one batch.
   */
  amount: number;
  kind: "debit" | "credit" | "refund" | "bonus";
  /** Unique per wallet: the same key applied twice changes the balance once. */
  idempotencyKey: string;
  note?: string;
  /** Create this transaction row in the same batch (its id is returned). */
  transaction?: {
    id?: string;
    type: string;
    status?: TransactionStatus;
    description?: string;
    offerId?: number | null;
    reference?: string | null;
  };
  /**
   * Or link the ledger entry to a transaction that exists (a refund of an activation) or that one
   * of `statements` writes through a trigger (an activation's pending subscription).
   */
  transactionId?: string;
  /** Further writes that must commit or roll back together with the money (stock, redemption rows...). */
  statements?: SqlStatement[];
  /**
   * A NOT NULL column of one of `statements` that takes its value from a guarded subquery (NULL when
   * the terms the feature priced with no longer hold at commit time). Its refusal aborts the whole
   * batch, money included, and is answered as the refusal `{ reason: "CONSTRAINT", constraint: name }`.
   */
  guard?: { column: string; name: string };
  /**
   * The answer the route gives when this operation succeeds, stored with the request's
   * Idempotency-Key claim in the same batch (see `idempotencyInBatch`). `body` is the JSON
   * answer; each `fill` puts the value of a scalar SQL expression, evaluated at the end of the
   * batch, at a JSON path of it (a row id, the balance after), so a replay gives what the first
   * request answered. Ignored when the request has no claim.
   */
  answer?: StoredAnswer;
  /** Set by walletApply from the request's deferred claim. */
  claim?: Claim;
  /** The time written on the operation's rows (ledger entry, transaction, wallet); now by default. */
  at?: string;
}

/** The balance after the operation, in points (toPoints), as a `fill` of `answer`. */
export const pointsAfter = (userId: number, path: string) => ({ path, sql: "SELECT COALESCE(MAX(balance), 0) / 100.0 FROM wallets WHERE user_id = ?", params: [userId] });

export type WalletResult =
  | {
      ok: true;
      replayed: boolean;
      balance: number;
      /** Null when no money moved (amount 0). */
      entryId: number | null;
      transactionId: string | null;
      /** Rows returned by each of `statements`, in order (empty on a replay). */
      results: unknown[][];
    }
  | { ok: false; reason: "INSUFFICIENT_FUNDS"; balance: number }
  | { ok: false; reason: "CONSTRAINT"; constraint: string };

/** The batch found the request's Idempotency-Key claimed by another request: nothing was written. */
export type ClaimTaken = { ok: false; reason: "IDEMPOTENCY_KEY_CLAIMED"; prior: PriorClaim | null };

/**
 * The claim (or, for money, the ledger key derived from it) was refused: a dead claim (in
 * progress past the timeout, same body) is removed and the operation run again once; otherwise
 * the prior claim decides the answer. With no claim row at all, `unclaimed` decides (the ledger
 * key was used without one: the wallet replays that debit).
 */
async function claimRefused(
  db: D1Database,
  op: WalletOperation,
  retried: boolean,
  run: () => Promise<WalletResult | ClaimTaken>,
  unclaimed?: () => Promise<WalletResult>,
): Promise<WalletResult | ClaimTaken> {
  const after = await afterRefusedClaim(db, op.claim!, retried);
  if (after.retry) return run();
  if (!after.prior && unclaimed) return unclaimed();
  return { ok: false, reason: "IDEMPOTENCY_KEY_CLAIMED", prior: after.prior };
}

/**
 * A debit of a wallet that was never created: the balance UPDATE matches no row, so the ledger
 * entry's balance_after (read from the wallet) is NULL and its NOT NULL aborts the batch.
 */
const noWallet = (error: unknown) => isNotNullViolation(error, "ledger_entries.balance_after");

/**
 * Applies one operation as a single D1 batch (D1's transaction). The wallet's CHECK
 * (balance >= 0) refuses an overdraft inside the database itself, so correctness does not rest on
 * the Durable Object's serialisation alone; the unique (user_id, idempotency_key) makes a
 * repeated operation a replay.
 */
export interface ApplyOptions {
  /** A dead claim was already taken over once. */
  retried?: boolean;
  /**
   * A refusal for balance answers `balance: NaN` instead of reading it: the wallet object calls
   * `refusedForFunds` after letting the next operation start, so a refused debit holds no one up.
   */
  deferRefusedBalance?: boolean;
}

/** An operation's batch, prepared and bound, and how to read its results. */
export interface PlannedBatch {
  statements: D1PreparedStatement[];
  /** The outcome of a batch that committed. */
  outcome(results: D1Result[]): Extract<WalletResult, { ok: true }>;
  free: boolean;
}

/**
 * Everything of an operation that needs no database: validation, the statements prepared and
 * bound, the answer's JSON. The wallet object does this before taking its place in the queue, so
 * the serialised part is the batch alone.
 *
 * Order: the balance change first, so a refused debit stops at its first statement; the ledger
 * entry reads the balance after it (and its key finds a repeated operation); then the transaction
 * row, the feature's statements and the claim with its answer (`claimStatements`).
 */
export function planBatch(db: D1Database, op: WalletOperation): PlannedBatch {
  if (!Number.isSafeInteger(op.amount)) throw new Error("wallet amount must be an integer of minor units");
  // Money: the claim goes last, already done with the answer; the ledger's key (derived from the
  // Idempotency-Key) refuses a second request with the key at the batch's second statement.
  const claim = claimStatements(db, op.claim, op.answer, op.amount !== 0);
  const extra = (op.statements ?? []).map((s) => db.prepare(s.sql).bind(...s.params));
  const before = claim.first.length;
  const rowsOf = (results: D1Result[], from: number) => results.slice(from, from + extra.length).map((r) => r.results as unknown[]);
  if (op.amount === 0) {
    // No money moves: the feature's statements still commit or roll back together.
    if (op.transaction) throw new Error("an operation that moves no money creates no transaction row");
    const read = db.prepare("SELECT balance FROM wallets WHERE user_id = ?").bind(op.userId);
    return {
      statements: [...claim.first, ...extra, read, ...claim.last],
      outcome: (results) => ({
        ok: true,
        replayed: false,
        balance: (results[before + extra.length]!.results[0] as { balance: number } | undefined)?.balance ?? 0,
        entryId: null,
        transactionId: null,
        results: rowsOf(results, before),
      }),
      free: true,
    };
  }
  const now = op.at ?? nowIso();
  const transactionId = op.transaction ? (op.transaction.id ?? uuid()) : (op.transactionId ?? null);
  const statements: D1PreparedStatement[] = [
    ...claim.first,
    op.amount < 0
      ? // A debit never creates the wallet: with no wallet row it is refused (noWallet).
        db.prepare("UPDATE wallets SET balance = balance + ?, updated_at = ? WHERE user_id = ?").bind(op.amount, now, op.userId)
      : // A credit creates the wallet if needed; the inserted balance is positive, so the CHECK passes either way.
        db
          .prepare("INSERT INTO wallets (user_id, balance, updated_at) VALUES (?, ?, ?) ON CONFLICT (user_id) DO UPDATE SET balance = balance + excluded.balance, updated_at = excluded.updated_at")
          .bind(op.userId, op.amount, now),
    db
      .prepare(
        "INSERT INTO ledger_entries (user_id, amount, balance_after, kind, transaction_id, idempotency_key, note, created_at) VALUES (?, ?, (SELECT balance FROM wallets WHERE user_id = ?), ?, ?, ?, ?, ?) RETURNING id, balance_after",
      )
      .bind(op.userId, op.amount, op.userId, op.kind, transactionId, op.idempotencyKey, op.note ?? "", now),
  ];
  const ledger = statements.length - 1;
  if (op.transaction) {
    const t = op.transaction;
    statements.push(
      db
        .prepare(
          "INSERT INTO transactions (id, user_id, type, status, amount, offer_id, reference, description, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(transactionId, op.userId, t.type, t.status ?? "SUCCESS", Math.abs(op.amount), t.offerId ?? null, t.reference ?? null, t.description ?? "", now, now),
    );
  }
  const first = statements.length;
  return {
    statements: [...statements, ...extra, ...claim.last],
    outcome: (results) => {
      const entry = results[ledger]!.results[0] as { id: number; balance_after: number };
      return { ok: true, replayed: false, balance: entry.balance_after, entryId: entry.id, transactionId, results: rowsOf(results, first) };
    },
    free: false,
  };
}

export async function applyToD1(db: D1Database, op: WalletOperation, options: ApplyOptions = {}): Promise<WalletResult | ClaimTaken> {
  return runPlanned(db, op, planBatch(db, op), options);
}

/** Runs a planned batch; a refusal is read from D1's error (nothing of the batch stays). */
export async function runPlanned(db: D1Database, op: WalletOperation, plan: PlannedBatch, options: ApplyOptions = {}): Promise<WalletResult | ClaimTaken> {
  const retried = options.retried ?? false;
  try {
    return plan.outcome(await db.batch(plan.statements));
  } catch (error) {
    const repeated = !plan.free && isUniqueViolation(error, "ledger_entries.idempotency_key");
    if (op.claim && (isClaimConflict(error) || repeated))
      return claimRefused(db, op, retried, () => applyToD1(db, op, { ...options, retried: true }), repeated ? () => replay(db, op) : undefined);
    if (op.guard && isNotNullViolation(error, op.guard.column)) return { ok: false, reason: "CONSTRAINT", constraint: op.guard.name };
    if (plan.free) return refusedByConstraint(error);
    if (refusingConstraint(error) === "wallet_non_negative" || noWallet(error))
      return options.deferRefusedBalance ? { ok: false, reason: "INSUFFICIENT_FUNDS", balance: Number.NaN } : refusedForFunds(db, op);
    if (repeated) return replay(db, op);
    return refusedByConstraint(error);
  }
}

/** A named CHECK, a trigger's RAISE(ABORT, '<name>') or a UNIQUE refused the batch. */
function refusedByConstraint(error: unknown): WalletResult {
  const constraint = refusingConstraint(error);
  if (constraint) return { ok: false, reason: "CONSTRAINT", constraint };
  throw error;
}

/**
 * A debit D1 refused for funds: refused with the balance, unless its key is already in the
 * ledger. The balance is changed before the ledger entry is written, so a repeat of the debit
 * that emptied the wallet fails on the balance first; it is a replay all the same.
 */
export async function refusedForFunds(db: D1Database, op: WalletOperation): Promise<WalletResult> {
  return refusedOrReplayed(db, op, await balanceUnlessApplied(db, op.userId, [op.idempotencyKey]));
}

/** What a debit the balance cannot pay answers, from `balanceUnlessApplied`'s read: a replay if it was applied before, else the refusal. */
export function refusedOrReplayed(db: D1Database, op: WalletOperation, found: { balance: number; applied: boolean }): Promise<WalletResult> | WalletResult {
  return found.applied ? replay(db, op, found.balance) : { ok: false, reason: "INSUFFICIENT_FUNDS", balance: found.balance };
}

/** The entry an operation's key already made; `balance` when the caller has just read it. */
async function replay(db: D1Database, op: WalletOperation, balance?: number): Promise<WalletResult> {
  const entry = await db
    .prepare("SELECT id, transaction_id FROM ledger_entries WHERE user_id = ? AND idempotency_key = ?")
    .bind(op.userId, op.idempotencyKey)
    .first<{ id: number; transaction_id: string | null }>();
  if (!entry) throw new Error("ledger idempotency conflict without an entry");
  return { ok: true, replayed: true, balance: balance ?? (await balanceOf(db, op.userId)), entryId: entry.id, transactionId: entry.transaction_id, results: [] };
}

/**
 * The balance, and whether an operation with one of these keys is already in the ledger (then it
 * is a replay, whatever the balance now: a repeat of the debit that emptied the wallet must replay).
 */
export async function balanceUnlessApplied(db: D1Database, userId: number, idempotencyKeys: string[]): Promise<{ balance: number; applied: boolean }> {
  const row = await db
    .prepare(
      `SELECT COALESCE((SELECT balance FROM wallets WHERE user_id = ?1), 0) AS balance,
              EXISTS (SELECT 1 FROM ledger_entries WHERE user_id = ?1 AND idempotency_key IN (SELECT value FROM json_each(?2))) AS applied`,
    )
    .bind(userId, JSON.stringify(idempotencyKeys))
    .first<{ balance: number; applied: number }>();
  return { balance: row?.balance ?? 0, applied: row?.applied === 1 };
}

export async function balanceOf(db: D1Database, userId: number): Promise<number> {
  const row = await db.prepare("SELECT balance FROM wallets WHERE user_id = ?").bind(userId).first<{ balance: number }>();
  return row?.balance ?? 0;
}
