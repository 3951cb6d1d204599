import type { NotificationStatus } from "../../db/schema";
import type { Env } from "../../env";
import { backoffSeconds, firstCopies, throwFirstFailure } from "../../queues/consumers";
import type { NotificationMessage } from "../../queues/messages";
import { addSeconds, nowIso } from "../../lib/time";
import { loadPreferences, preferenceBlock } from "./preferences";
import { publishPerUser, publishUserEvents } from "../events/publish";
import type { UserEvent } from "../events/events.schemas";
import { providerFor } from "./channels";
import { MAX_QUEUE_DELAY_SECONDS, secondsUntil } from "./notify";
import type { NotificationRow } from "./notifications.service";

/**
 * Longer than a provider call can take (10 s timeout), so a live delivery never loses its claim.
 * A batch claims all its rows at once and calls their providers side by side, so this bounds
 * the whole batch's sends, not one message's.
 */
export const LEASE_SECONDS = 60;
export const RETRIES_EXHAUSTED = "retries exhausted";

type DeliveryRow = Pick<
  NotificationRow,
  "id" | "customer_id" | "channel" | "recipient" | "title" | "message" | "priority" | "category" | "status" | "scheduled_at"
> & { user_id: number | null; lease_until: string | null };

type Delivery = Message<NotificationMessage>;

const OPEN = "status IN ('pending', 'queued')";

/** What one claimed row's delivery came to: the writes that record it, then the message's ack or retry. */
interface Outcome {
  row: DeliveryRow;
  message: Delivery;
  status: Exclude<NotificationStatus, "pending">;
  at: string;
  statements: D1PreparedStatement[];
  /** A skip is written only while the row is still open: announced only when it was. */
  announceIfChanged?: boolean;
  settle: () => void;
}

/**
 * Delivers a batch of notifications. Queues deliver at least once, so a provider is called only
 * for a row this batch claimed with one conditional UPDATE of all its ids (open status, due, no
 * live lease): a redelivered or concurrent copy of a message finds its row claimed or finished
 * and sends nothing. The claim returns the rows, so a delivery reads nothing before it; only the
 * ids it did not claim are looked at, to say why. Then one preferences read for all the rows'
 * customers (checked at delivery time: a customer may opt out after it was queued), each
 * claimed row's provider once (side by side), one D1 batch recording every outcome, each
 * message acked or retried as its own row's outcome says, and one live-status publish per user.
 * A second copy of a message in the same batch is acked with it: its twin carries the delivery.
 */
async function deliverNotifications(messages: Delivery[], env: Env): Promise<void> {
  const { owners, copies } = firstCopies(messages, (message) => message.body.notification_id);

  const now = nowIso();
  const { results: claimed } = await env.DB.prepare(
    `UPDATE notifications SET attempts = attempts + 1, lease_until = ?1, updated_at = ?2
      WHERE id IN (SELECT value FROM json_each(?3)) AND ${OPEN} AND (lease_until IS NULL OR lease_until <= ?2) AND (scheduled_at IS NULL OR scheduled_at <= ?2)
      RETURNING id, user_id, customer_id, channel, recipient, title, message, priority, category, status, scheduled_at, lease_until`,
  )
    .bind(addSeconds(now, LEASE_SECONDS), now, JSON.stringify([...owners.keys()]))
    .all<DeliveryRow>();
  // In the batch's order, so one user's events reach the sockets in the order their messages came.
  const position = new Map([...owners.keys()].map((id, i) => [id, i]));
  claimed.sort((a, b) => position.get(a.id)! - position.get(b.id)!);
  const claimedIds = new Set(claimed.map((row) => row.id));
  const unclaimed = [...owners.values()].filter((message) => !claimedIds.has(message.body.notification_id));

  throwFirstFailure(await Promise.allSettled([notClaimed(unclaimed, env), deliverClaimed(claimed, owners, env)]));
  for (const copy of copies) copy.ack();
}

/** Preferences, providers, one batch of outcomes, then each message's ack or retry and the users' events. */
async function deliverClaimed(rows: DeliveryRow[], owners: Map<string, Delivery>, env: Env) {
  if (rows.length === 0) return;
  const prefs = await loadPreferences(env, rows.flatMap((row) => (row.customer_id !== null ? [row.customer_id] : [])));
  const outcomes = await Promise.all(rows.map((row) => deliverOne(row, owners.get(row.id)!, prefs, env)));
  const recorded = await record(outcomes.filter((o): o is Outcome => o !== null), env);

  const events: { userId: number; event: UserEvent }[] = [];
  for (const { outcome, changed } of recorded) {
    outcome.settle();
    const { row, status, at } = outcome;
    if (!row.user_id || (outcome.announceIfChanged && !changed)) continue;
    events.push({ userId: row.user_id, event: { type: "notification.status", notification_id: row.id, status, updated_at: at } });
  }
  // The sender's live sockets hear each outcome (rows sent by the system have no user).
  publishPerUser(env, events);
}

/** One claimed row: skipped by preferences, or its provider's answer; null when the provider threw (retried, nothing written). */
async function deliverOne(row: DeliveryRow, message: Delivery, prefs: Awaited<ReturnType<typeof loadPreferences>>, env: Env): Promise<Outcome | null> {
  const id = row.id;
  if (row.customer_id !== null) {
    const block = preferenceBlock(prefs.get(row.customer_id), row);
    if (block) {
      const at = nowIso();
      // Not a delivery attempt: the claim's count is given back with the lease.
      const skip = env.DB.prepare(
        `UPDATE notifications SET status = 'skipped', last_error = ?, attempts = attempts - 1, lease_until = NULL, updated_at = ? WHERE id = ? AND ${OPEN}`,
      ).bind(block, at, id);
      return { row, message, status: "skipped", at, statements: [skip], announceIfChanged: true, settle: () => message.ack() };
    }
  }

  let result;
  try {
    result = await providerFor(env, row.channel).send(env, row);
  } catch (error) {
    // As a consumer that throws: retried with backoff, the row left claimed until its lease ends.
    console.error(JSON.stringify({ level: "error", msg: "notification provider threw", id, error: String(error) }));
    message.retry({ delaySeconds: backoffSeconds(message.attempts) });
    return null;
  }
  const done = nowIso();
  if (result.ok) {
    const sent = env.DB.prepare(
      "UPDATE notifications SET status = 'sent', sent_at = ?, provider_message_id = ?, last_error = NULL, lease_until = NULL, updated_at = ? WHERE id = ?",
    ).bind(done, result.providerMessageId, done, id);
    return { row, message, status: "sent", at: done, statements: result.record ? [result.record, sent] : [sent], settle: () => message.ack() };
  }
  if (result.retryable) {
    const queued = env.DB.prepare("UPDATE notifications SET status = 'queued', last_error = ?, lease_until = NULL, updated_at = ? WHERE id = ?").bind(result.error, done, id);
    const delay = Math.max(backoffSeconds(message.attempts), Math.min(result.retryAfterSeconds ?? 0, MAX_QUEUE_DELAY_SECONDS));
    return { row, message, status: "queued", at: done, statements: [queued], settle: () => message.retry({ delaySeconds: delay }) };
  }
  const failed = env.DB.prepare("UPDATE notifications SET status = 'failed', last_error = ?, lease_until = NULL, updated_at = ? WHERE id = ?").bind(result.error, done, id);
  return { row, message, status: "failed", at: done, statements: [failed], settle: () => message.ack() };
}

/**
 * Writes every outcome in one D1 batch. A batch is one transaction, so one refused statement
 * would undo every row's outcome: then each outcome is written on its own, and one whose write
 * fails is retried with backoff (its row stays claimed until the lease ends), as a message whose
 * consumer threw.
 */
async function record(outcomes: Outcome[], env: Env): Promise<{ outcome: Outcome; changed: boolean }[]> {
  if (outcomes.length === 0) return [];
  const changedBy = (results: D1Result[]) => (results.at(-1)?.meta.changes ?? 0) === 1;
  try {
    const results = await env.DB.batch(outcomes.flatMap((o) => o.statements));
    let next = 0;
    return outcomes.map((outcome) => {
      const own = results.slice(next, (next += outcome.statements.length));
      return { outcome, changed: changedBy(own) };
    });
  } catch {
    // written one by one below
  }
  const written: { outcome: Outcome; changed: boolean }[] = [];
  for (const outcome of outcomes) {
    try {
      written.push({ outcome, changed: changedBy(await env.DB.batch(outcome.statements)) });
    } catch (error) {
      console.error(JSON.stringify({ level: "error", msg: "notification outcome not recorded", id: outcome.row.id, status: outcome.status, error: String(error) }));
      outcome.message.retry({ delaySeconds: backoffSeconds(outcome.message.attempts) });
    }
  }
  return written;
}

/** Why a claim was refused: finished or gone (ack), not due yet, or another delivery holds the lease. One read for all. */
async function notClaimed(messages: Delivery[], env: Env) {
  if (messages.length === 0) return;
  const { results } = await env.DB.prepare("SELECT id, status, scheduled_at FROM notifications WHERE id IN (SELECT value FROM json_each(?))")
    .bind(JSON.stringify(messages.map((m) => m.body.notification_id)))
    .all<Pick<DeliveryRow, "id" | "status" | "scheduled_at">>();
  const rows = new Map(results.map((row) => [row.id, row]));
  for (const message of messages) {
    const row = rows.get(message.body.notification_id);
    if (!row || (row.status !== "pending" && row.status !== "queued")) {
      message.ack();
      continue;
    }
    const wait = secondsUntil(row.scheduled_at);
    // Another delivery holds the lease. Look again after it ends: if that delivery died, this copy
    // is what finishes the job; if it succeeded, this copy then finds it done and acks.
    message.retry({ delaySeconds: wait > 0 ? Math.min(wait, MAX_QUEUE_DELAY_SECONDS) : LEASE_SECONDS });
  }
}

/** The notifications queue's consumer: a whole batch at a time (see deliverNotifications). */
export const notificationDelivery = { batch: deliverNotifications };

/** Dead-letter queue: every retry failed; the row ends `failed` (an open row only: a sent one stays sent). */
export async function failExhaustedNotification(message: Message<NotificationMessage>, env: Env) {
  const at = nowIso();
  const failed = await env.DB.prepare(`UPDATE notifications SET status = 'failed', last_error = ?, lease_until = NULL, updated_at = ? WHERE id = ? AND ${OPEN} RETURNING user_id`)
    .bind(RETRIES_EXHAUSTED, at, message.body.notification_id)
    .first<{ user_id: number | null }>();
  if (failed?.user_id)
    publishUserEvents(env, failed.user_id, [{ type: "notification.status", notification_id: message.body.notification_id, status: "failed", updated_at: at }]);
  message.ack();
}
