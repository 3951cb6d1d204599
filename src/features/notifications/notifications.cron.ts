import type { Env } from "../../env";
import { addSeconds } from "../../lib/time";
import { MAX_QUEUE_DELAY_SECONDS, sendToQueue } from "./notify";

/** A `pending` row this old without a schedule missed its queue send (a queue outage). */
const STRANDED_AFTER_SECONDS = 5 * 60;
/**
 * A `queued` row no delivery has touched this long after it was queued (and after its time) lost
 * its message: the request or sweep that wrote it `queued` died before the queue accepted it. The
 * same bound as the health check's stuck notifications. A message that is only late finds the
 * row done when it arrives: the consumer delivers each row once whatever the copies.
 */
const UNDELIVERED_AFTER_SECONDS = 15 * 60;
const SWEEP_LIMIT = 500;

/**
 * Enqueues notifications that wait as `pending`: scheduled ones now within the queue's 12-hour
 * delay (delivered at their time), and ones whose queue send failed; and `queued` ones whose
 * message never arrived. The rows are claimed by one UPDATE before sending, so two runs of the
 * cron enqueue each once.
 */
export async function enqueueDueNotifications(env: Env, at: Date) {
  const now = at.toISOString();
  const undeliveredBefore = addSeconds(at, -UNDELIVERED_AFTER_SECONDS);
  const { results } = await env.DB.prepare(
    `UPDATE notifications SET status = 'queued', updated_at = ?1
      WHERE id IN (
        SELECT id FROM notifications
         WHERE status = 'pending'
           AND ((scheduled_at IS NOT NULL AND scheduled_at <= ?2) OR (scheduled_at IS NULL AND created_at <= ?3))
        UNION ALL
        SELECT id FROM notifications
         WHERE status = 'queued' AND updated_at <= ?4 AND attempts = 0 AND (scheduled_at IS NULL OR scheduled_at <= ?4)
         LIMIT ${SWEEP_LIMIT})
      RETURNING id, scheduled_at`,
  )
    .bind(now, addSeconds(at, MAX_QUEUE_DELAY_SECONDS), addSeconds(at, -STRANDED_AFTER_SECONDS), undeliveredBefore)
    .all<{ id: string; scheduled_at: string | null }>();
  if (results.length === 0) return { enqueued: 0 };

  const sent = await sendToQueue(env, results.map((r) => ({ id: r.id, scheduledAt: r.scheduled_at })));
  const unsent = results.filter((r) => !sent.has(r.id)).map((r) => r.id);
  if (unsent.length > 0) {
    // Back to `pending` so the next run tries again instead of leaving them stranded as `queued`.
    await env.DB.prepare("UPDATE notifications SET status = 'pending' WHERE status = 'queued' AND id IN (SELECT value FROM json_each(?))")
      .bind(JSON.stringify(unsent))
      .run();
  }
  return { enqueued: sent.size };
}
