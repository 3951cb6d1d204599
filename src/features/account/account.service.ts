import type { TransactionStatus } from "../../db/schema";
import type { Env } from "../../env";
import { notFound } from "../../lib/errors";
import { formatAmount } from "../../lib/money";
import { getBalance } from "../wallet/wallet.service";
import { activeSubscriptions, toSubscription } from "../offers/subscriptions.service";

interface TransactionRow {
  id: string;
  type: string;
  status: TransactionStatus;
  amount: number;
  offer_id: number | null;
  reference: string | null;
  description: string;
  failure_reason: string | null;
  created_at: string;
  updated_at: string;
}

const COLUMNS = "id, type, status, amount, offer_id, reference, description, failure_reason, created_at, updated_at";

export function toTransaction(row: TransactionRow) {
  return {
    transaction_id: row.id,
    type: row.type,
    status: row.status,
    amount: formatAmount(row.amount),
    offer_id: row.offer_id,
    reference: row.reference,
    description: row.description,
    failure_reason: row.failure_reason,
    created_at: row.created_at,
    updated_at: row.updated_at,
  };
}

export async function getAccount(env: Pick<Env, "DB">, userId: number) {
  const [balance, subscriptions] = await Promise.all([getBalance(env, userId), activeSubscriptions(env, userId)]);
  return { balance: formatAmount(balance), active_subscriptions: subscriptions.map(toSubscription) };
}

/** Newest first; count and page in one batch (one round trip). */
export async function listTransactions(
  env: Pick<Env, "DB">,
  userId: number,
  filters: { type?: string; status?: string },
  page: { limit: number; offset: number },
) {
  const conditions = ["user_id = ?"];
  const params: unknown[] = [userId];
  if (filters.type) conditions.push("type = ?"), params.push(filters.type);
  if (filters.status) conditions.push("status = ?"), params.push(filters.status);
  const where = `WHERE ${conditions.join(" AND ")}`;
  const [count, rows] = await env.DB.batch([
    env.DB.prepare(`SELECT COUNT(*) AS n FROM transactions ${where}`).bind(...params),
    env.DB.prepare(`SELECT ${COLUMNS} FROM transactions ${where} ORDER BY created_at DESC, rowid DESC LIMIT ? OFFSET ?`).bind(...params, page.limit, page.offset),
  ]);
  return { count: (count!.results[0] as { n: number }).n, rows: (rows!.results as TransactionRow[]).map(toTransaction) };
}

/** Another user's transaction is a 404, the same as one that does not exist. */
export async function getTransaction(env: Pick<Env, "DB">, userId: number, transactionId: string) {
  const row = await env.DB.prepare(`SELECT ${COLUMNS} FROM transactions WHERE id = ? AND user_id = ?`).bind(transactionId, userId).first<TransactionRow>();
  if (!row) throw notFound("Transaction");
  return toTransaction(row);
}
