/**
 * Fixed-window counters in D1 (`rate_counters`). The Workers Rate Limiting binding counts only
 * per location and in 10 or 60 second periods; limits that must hold everywhere and over minutes
 * or a day (failed logins per account, messages per recipient) need the one database. Each
 * statement is a single atomic upsert, so concurrent requests cannot both take the last unit.
 */
export interface CounterState {
  count: number;
  window_started_at: string;
}

const cutoffOf = (now: Date, windowSeconds: number) => new Date(now.getTime() - windowSeconds * 1000).toISOString();

/** Counts one event whatever the count already is; the caller compares the returned count. */
export function hitCounter(db: D1Database, key: string, windowSeconds: number, now = new Date()): D1PreparedStatement {
  return db
    .prepare(
      `INSERT INTO rate_counters (key, count, window_started_at) VALUES (?1, 1, ?2)
       ON CONFLICT (key) DO UPDATE SET
         count = CASE WHEN window_started_at <= ?3 THEN 1 ELSE count + 1 END,
         window_started_at = CASE WHEN window_started_at <= ?3 THEN ?2 ELSE window_started_at END
       RETURNING count, window_started_at`,
    )
    .bind(key, now.toISOString(), cutoffOf(now, windowSeconds));
}

/**
 * Takes `n` units only if the window's count stays within `limit` and `condition` (SQL with its
 * own parameters, for a batch whose other writes have a guard of their own) holds: a row back
 * means taken.
 */
export function takeFromCounter(
  db: D1Database,
  key: string,
  n: number,
  limit: number,
  windowSeconds: number,
  now = new Date(),
  condition: { sql: string; params: unknown[] } = { sql: "1", params: [] },
): D1PreparedStatement {
  // The condition's plain `?`s follow ?5 in the text, so SQLite numbers them ?6 onwards.
  return db
    .prepare(
      `INSERT INTO rate_counters (key, count, window_started_at) SELECT ?1, ?2, ?3 WHERE ?2 <= ?5 AND (${condition.sql})
       ON CONFLICT (key) DO UPDATE SET
         count = CASE WHEN window_started_at <= ?4 THEN excluded.count ELSE count + excluded.count END,
         window_started_at = CASE WHEN window_started_at <= ?4 THEN excluded.window_started_at ELSE window_started_at END
       WHERE window_started_at <= ?4 OR count + excluded.count <= ?5
       RETURNING count, window_started_at`,
    )
    .bind(key, n, now.toISOString(), cutoffOf(now, windowSeconds), limit, ...condition.params);
}

/**
 * A counter's count in its current window (0 once the window ended), as a SQL expression with
 * two parameters: the key and the window's cutoff (`counterCutoff`). For statements
 * that check a limit inside a batch before the batch counts (`takeFromCounter` / `hitCounterIf`
 * later in the same batch): a batch is one transaction, so nothing else counts in between.
 */
export const COUNT_IN_WINDOW_SQL = "COALESCE((SELECT count FROM rate_counters WHERE key = ? AND window_started_at > ?), 0)";

/** The cutoff of a window of `windowSeconds` ending now: a window that started at or before it is over. */
export const counterCutoff = cutoffOf;

/**
 * `hitCounter` only when `condition` (SQL with its own parameters, evaluated once) holds: a
 * later statement of a batch counts what an earlier one did (a row it inserted).
 */
export function hitCounterIf(db: D1Database, key: string, windowSeconds: number, now: Date, condition: { sql: string; params: unknown[] }): D1PreparedStatement {
  return db
    .prepare(
      `INSERT INTO rate_counters (key, count, window_started_at) SELECT ?, 1, ? WHERE ${condition.sql}
       ON CONFLICT (key) DO UPDATE SET
         count = CASE WHEN window_started_at <= ? THEN 1 ELSE count + 1 END,
         window_started_at = CASE WHEN window_started_at <= ? THEN excluded.window_started_at ELSE window_started_at END`,
    )
    .bind(key, now.toISOString(), ...condition.params, cutoffOf(now, windowSeconds), cutoffOf(now, windowSeconds));
}

/** Seconds until the window that started at `startedAt` ends (at least 1). */
export function secondsLeft(startedAt: string, windowSeconds: number, now = new Date()): number {
  return Math.max(1, Math.ceil((new Date(startedAt).getTime() + windowSeconds * 1000 - now.getTime()) / 1000));
}

/** Counters whose window ended long ago are dead weight: the daily cron removes them. */
export async function pruneCounters(db: D1Database, at: Date, olderThanSeconds = 2 * 86_400) {
  const result = await db.prepare("DELETE FROM rate_counters WHERE window_started_at < ?").bind(cutoffOf(at, olderThanSeconds)).run();
  return { deleted: result.meta.changes };
}
