/** Cron strings, as in wrangler.toml's [triggers] (a test checks they match). */
export const CRON = {
  /** Expiry notices, ended subscriptions, stuck activations, expired vouchers, ended ads, due notifications. */
  frequent: "*/15 * * * *",
  /** Ledger reconciliation (balance = sum of ledger entries for every wallet), old Idempotency-Key answers. */
  daily: "5 0 * * *",
} as const;

export type CronSchedule = (typeof CRON)[keyof typeof CRON];
