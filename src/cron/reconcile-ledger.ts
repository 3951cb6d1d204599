import type { Env } from "../env";

/**
 * Invariant 1, checked every night: balance = sum of ledger entries for every wallet. It only
 * reports (an error log an alert can watch); corrections are new ledger entries made by a person.
 */
export async function reconcileLedger(env: Env) {
  const { results } = await env.DB.prepare(
    `SELECT w.user_id, w.balance, COALESCE(SUM(l.amount), 0) AS ledger_sum
       FROM wallets w LEFT JOIN ledger_entries l ON l.user_id = w.user_id
      GROUP BY w.user_id HAVING w.balance != COALESCE(SUM(l.amount), 0)`,
  ).all<{ user_id: number; balance: number; ledger_sum: number }>();
  for (const row of results) console.error(JSON.stringify({ level: "error", msg: "wallet out of balance with ledger", ...row }));
  return { mismatched_wallets: results.length };
}
