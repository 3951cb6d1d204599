/** Cron strings, as in wrangler.toml's [triggers] (a test checks they match). */
export const CRON = {
  /** Expiry notices, ended subscriptions, expired vouchers, ended advertisements. */
  frequent: "*/15 * * * *",
  /** Ledger reconciliation: balance = sum of ledger entries for every wallet. */
  daily: "5 0 * * *",
} as const;
