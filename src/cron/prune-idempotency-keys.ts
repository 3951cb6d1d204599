import type { Env } from "../env";

/** Stored Idempotency-Key answers are kept for a day: long enough for any client retry. */
export const IDEMPOTENCY_RETENTION_HOURS = 24;

export async function pruneIdempotencyKeys(env: Env, at: Date) {
  const cutoff = new Date(at.getTime() - IDEMPOTENCY_RETENTION_HOURS * 3_600_000);
  // created_at is SQLite's CURRENT_TIMESTAMP form ("YYYY-MM-DD HH:MM:SS"), so compare in that form.
  const result = await env.DB.prepare("DELETE FROM idempotency_keys WHERE created_at < ?")
    .bind(cutoff.toISOString().replace("T", " ").slice(0, 19))
    .run();
  return { deleted: result.meta.changes };
}
