import type { TransactionStatus } from "../../db/schema";
import { isUniqueViolation, refusingConstraint } from "../../lib/d1-errors";
import { nowIso } from "../../lib/time";
import { uuid } from "../../lib/ids";

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
  /** Or link the ledger entry to an existing transaction (a refund of an activation). */
  transactionId?: string;
  /** Further writes that must commit or roll back together with the money (stock, redemption rows...). */
  statements?: SqlStatement[];
}

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


/**
 * Applies one operation as a single D1 batch (D1's transaction). The wallet's CHECK
 * (balance >= 0) refuses an overdraft inside the database itself, so correctness does not rest on
 * the Durable Object's serialisation alone; the unique (user_id, idempotency_key) makes a
 * repeated operation a replay.
 */
export async function applyToD1(db: D1Database, op: WalletOperation): Promise<WalletResult> {
  if (!Number.isSafeInteger(op.amount)) throw new Error("wallet amount must be an integer of minor units");
  if (op.amount === 0) return applyFree(db, op);
  const now = nowIso();
  const transactionId = op.transaction ? (op.transaction.id ?? uuid()) : (op.transactionId ?? null);
  const statements: D1PreparedStatement[] = [
    db.prepare("INSERT INTO wallets (user_id, balance, updated_at) VALUES (?, 0, ?) ON CONFLICT (user_id) DO NOTHING").bind(op.userId, now),
  ];
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
  statements.push(
    db.prepare("UPDATE wallets SET balance = balance + ?, updated_at = ? WHERE user_id = ?").bind(op.amount, now, op.userId),
    db
      .prepare(
        "INSERT INTO ledger_entries (user_id, amount, balance_after, kind, transaction_id, idempotency_key, note, created_at) SELECT ?, ?, balance, ?, ?, ?, ?, ? FROM wallets WHERE user_id = ? RETURNING id, balance_after",
      )
      .bind(op.userId, op.amount, op.kind, transactionId, op.idempotencyKey, op.note ?? "", now, op.userId),
  );
  const extra = (op.statements ?? []).map((s) => db.prepare(s.sql).bind(...s.params));
  try {
    const results = await db.batch([...statements, ...extra]);
    const entry = results[statements.length - 1]!.results[0] as { id: number; balance_after: number };
    return {
      ok: true,
      replayed: false,
      balance: entry.balance_after,
      entryId: entry.id,
      transactionId,
      results: results.slice(statements.length).map((r) => r.results as unknown[]),
    };
  } catch (error) {
    if (refusingConstraint(error) === "wallet_non_negative") return { ok: false, reason: "INSUFFICIENT_FUNDS", balance: await balanceOf(db, op.userId) };
    if (isUniqueViolation(error, "ledger_entries.idempotency_key")) return replay(db, op);
    return refusedByConstraint(error);
  }
}

/** No money moves: the feature's statements still commit or roll back together. */
async function applyFree(db: D1Database, op: WalletOperation): Promise<WalletResult> {
  if (op.transaction) throw new Error("an operation that moves no money creates no transaction row");
  const extra = (op.statements ?? []).map((s) => db.prepare(s.sql).bind(...s.params));
  try {
    const results = await db.batch([...extra, db.prepare("SELECT balance FROM wallets WHERE user_id = ?").bind(op.userId)]);
    const balance = (results.at(-1)!.results[0] as { balance: number } | undefined)?.balance ?? 0;
    return { ok: true, replayed: false, balance, entryId: null, transactionId: null, results: results.slice(0, -1).map((r) => r.results as unknown[]) };
  } catch (error) {
    return refusedByConstraint(error);
  }
}

/** A named CHECK, a trigger's RAISE(ABORT, '<name>') or a UNIQUE refused the batch. */
function refusedByConstraint(error: unknown): WalletResult {
  const constraint = refusingConstraint(error);
  if (constraint) return { ok: false, reason: "CONSTRAINT", constraint };
  throw error;
}

async function replay(db: D1Database, op: WalletOperation): Promise<WalletResult> {
  const entry = await db
    .prepare("SELECT id, transaction_id FROM ledger_entries WHERE user_id = ? AND idempotency_key = ?")
    .bind(op.userId, op.idempotencyKey)
    .first<{ id: number; transaction_id: string | null }>();
  if (!entry) throw new Error("ledger idempotency conflict without an entry");
  return { ok: true, replayed: true, balance: await balanceOf(db, op.userId), entryId: entry.id, transactionId: entry.transaction_id, results: [] };
}

export async function balanceOf(db: D1Database, userId: number): Promise<number> {
  const row = await db.prepare("SELECT balance FROM wallets WHERE user_id = ?").bind(userId).first<{ balance: number }>();
  return row?.balance ?? 0;
}
