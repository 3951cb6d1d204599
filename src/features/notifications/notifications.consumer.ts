import type { NotificationStatus } from "../../db/schema";
import type { Env } from "../../env";
import { backoffSeconds } from "../../queues/consumers";
import type { NotificationMessage } from "../../queues/messages";
import { addSeconds, nowIso } from "../../lib/time";
import { loadPreferences, preferenceBlock } from "./preferences";
import { publishUserEvent } from "../events/publish";
import { providerFor } from "./channels";
import { MAX_QUEUE_DELAY_SECONDS, secondsUntil } from "./notify";
import type { NotificationRow } from "./notifications.service";

/** Longer than a provider call can take (10 s timeout), so a live delivery never loses its claim. */
export const LEASE_SECONDS = 60;
export const RETRIES_EXHAUSTED = "retries exhausted";

type DeliveryRow = Pick<
  NotificationRow,
  "id" | "customer_id" | "channel" | "recipient" | "title" | "message" | "priority" | "category" | "status" | "scheduled_at"
> & { user_id: number | null; lease_until: string | null };

const OPEN = "status IN ('pending', 'queued')";

/**
 * Delivers one notification. Queues deliver at least once, so the provider is called only after
 * a conditional UPDATE claims the row (open status, due, no live lease): a redelivered or
 * concurrent copy of the message finds it claimed or finished and sends nothing. The claim
 * returns the row, so a delivery reads nothing before it; only a refused claim looks at the row
 * to say why.
 */
export async function deliverNotification(message: Message<NotificationMessage>, env: Env) {
  const id = message.body.notification_id;

  const now = nowIso();
  const row = await env.DB.prepare(
    `UPDATE notifications SET attempts = attempts + 1, lease_until = ?1, updated_at = ?2
      WHERE id = ?3 AND ${OPEN} AND (lease_until IS NULL OR lease_until <= ?2) AND (scheduled_at IS NULL OR scheduled_at <= ?2)
      RETURNING id, user_id, customer_id, channel, recipient, title, message, priority, category, status, scheduled_at, lease_until`,
  )
    .bind(addSeconds(now, LEASE_SECONDS), now, id)
    .first<DeliveryRow>();
  if (!row) return notClaimed(message, env, id);

  // Preferences are read at delivery time too: a customer may opt out after it was queued.
  if (row.customer_id !== null) {
    const prefs = await loadPreferences(env, [row.customer_id]);
    const block = preferenceBlock(prefs.get(row.customer_id), row);
    if (block) {
      const at = nowIso();
      // Not a delivery attempt: the claim's count is given back with the lease.
      const skipped = await env.DB.prepare(
        `UPDATE notifications SET status = 'skipped', last_error = ?, attempts = attempts - 1, lease_until = NULL, updated_at = ? WHERE id = ? AND ${OPEN}`,
      )
        .bind(block, at, id)
        .run();
      if (skipped.meta.changes === 1) announce(env, row.user_id, id, "skipped", at);
      return message.ack();
    }
  }

  const result = await providerFor(env, row.channel).send(env, row);
  const done = nowIso();
  if (result.ok) {
    const sent = env.DB.prepare(
      "UPDATE notifications SET status = 'sent', sent_at = ?, provider_message_id = ?, last_error = NULL, lease_until = NULL, updated_at = ? WHERE id = ?",
    ).bind(done, result.providerMessageId, done, id);
    await (result.record ? env.DB.batch([result.record, sent]) : sent.run());
    announce(env, row.user_id, id, "sent", done);
    return message.ack();
  }
  if (result.retryable) {
    await env.DB.prepare("UPDATE notifications SET status = 'queued', last_error = ?, lease_until = NULL, updated_at = ? WHERE id = ?")
      .bind(result.error, done, id)
      .run();
    announce(env, row.user_id, id, "queued", done);
    const delay = Math.max(backoffSeconds(message.attempts), Math.min(result.retryAfterSeconds ?? 0, MAX_QUEUE_DELAY_SECONDS));
    return message.retry({ delaySeconds: delay });
  }
  await env.DB.prepare("UPDATE notifications SET status = 'failed', last_error = ?, lease_until = NULL, updated_at = ? WHERE id = ?")
    .bind(result.error, done, id)
    .run();
  announce(env, row.user_id, id, "failed", done);
  message.ack();
}

/** Why the claim was refused: finished or gone (ack), not due yet, or another delivery holds the lease. */
async function notClaimed(message: Message<NotificationMessage>, env: Env, id: string) {
  const row = await env.DB.prepare("SELECT status, scheduled_at FROM notifications WHERE id = ?")
    .bind(id)
    .first<Pick<DeliveryRow, "status" | "scheduled_at">>();
  if (!row || (row.status !== "pending" && row.status !== "queued")) return message.ack();
  const wait = secondsUntil(row.scheduled_at);
  if (wait > 0) return message.retry({ delaySeconds: Math.min(wait, MAX_QUEUE_DELAY_SECONDS) });
  // Another delivery holds the lease. Look again after it ends: if that delivery died, this copy
  // is what finishes the job; if it succeeded, this copy then finds it done and acks.
  return message.retry({ delaySeconds: LEASE_SECONDS });
}

/** Dead-letter queue: every retry failed; the row ends `failed` (an open row only: a sent one stays sent). */
export async function failExhaustedNotification(message: Message<NotificationMessage>, env: Env) {
  const at = nowIso();
  const failed = await env.DB.prepare(`UPDATE notifications SET status = 'failed', last_error = ?, lease_until = NULL, updated_at = ? WHERE id = ? AND ${OPEN} RETURNING user_id`)
    .bind(RETRIES_EXHAUSTED, at, message.body.notification_id)
    .first<{ user_id: number | null }>();
  announce(env, failed?.user_id, message.body.notification_id, "failed", at);
  message.ack();
}

/** The sender's live sockets hear each delivery outcome (rows sent by the system have no user). */
function announce(env: Env, userId: number | null | undefined, notificationId: string, status: Exclude<NotificationStatus, "pending">, at: string) {
  if (userId) publishUserEvent(env, userId, { type: "notification.status", notification_id: notificationId, status, updated_at: at });
}
