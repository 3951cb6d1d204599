import type { Env } from "../../env";
import { uuid } from "../../lib/ids";
import { nowIso } from "../../lib/time";
import type { NOTIFICATION_CATEGORIES, NOTIFICATION_CHANNELS, NOTIFICATION_PRIORITIES, NOTIFICATION_STATUSES } from "../../db/schema";
import type { NotificationMessage } from "../../queues/messages";
import { loadPreferences, preferenceBlock } from "./preferences";
import { RECIPIENT_LIMIT_REACHED, recipientDailyInBatch, refuseSenderBudget, senderBudgetInBatch } from "./message-budget";
import { optOutLink } from "./opt-out";
import type { NotificationRow } from "./notifications.service";
import type { StoredAnswer } from "../../lib/claim-in-batch";
import { batchWithClaim } from "../../middleware/idempotency";

export interface NotifyInput {
  /** The user on whose behalf (or to whom) it is sent; owns the notification's history row. */
  userId?: number | null;
  /** When set, that customer's preferences decide whether it is sent or `skipped`. */
  customerId?: number | null;
  channel: (typeof NOTIFICATION_CHANNELS)[number];
  recipient: string;
  title: string;
  message: string;
  priority?: (typeof NOTIFICATION_PRIORITIES)[number];
  category?: (typeof NOTIFICATION_CATEGORIES)[number];
  /** The same key notifies once, however often it is asked (cron runs, queue redeliveries). */
  dedupeKey?: string;
  /** ISO time; the notification is delivered then, not before. */
  scheduledAt?: string | null;
}

export interface NotifyResult {
  id: string;
  duplicate: boolean;
  status: (typeof NOTIFICATION_STATUSES)[number];
  /** The row as written (and as the queue send left it); absent for a duplicate. */
  row?: NotificationRow;
  /** Written `queued`, but the queue refused its message: the row is `pending` again. */
  queueSendFailed?: boolean;
}

/** Cloudflare Queues delay a message by at most 12 hours; later ones wait as `pending` for the cron. */
export const MAX_QUEUE_DELAY_SECONDS = 12 * 3600;
const SEND_BATCH_SIZE = 100;

export function secondsUntil(iso: string | null | undefined, now = Date.now()): number {
  if (!iso) return 0;
  return Math.max(0, Math.ceil((new Date(iso).getTime() - now) / 1000));
}

/** Transactional (payment, security) and urgent messages always go; every other kind can be refused. */
export const isOptional = (input: Pick<NotifyInput, "category" | "priority">) =>
  (input.category ?? "system") !== "transactional" && input.priority !== "urgent";
export const OPTED_OUT = "recipient opted out";

/**
 * The one way any feature sends a message: a D1 row first (the truth about delivery), then a
 * queue message the notification consumer delivers through a provider.
 */
export async function notify(env: Env, input: NotifyInput): Promise<NotifyResult> {
  const [result] = await notifyMany(env, [input]);
  return result!;
}

/** A notice to a user account (activation results, expiry notices): by email to their address. */
export async function notifyUser(
  env: Env,
  userId: number,
  input: Omit<NotifyInput, "userId" | "channel" | "recipient">,
): Promise<NotifyResult | null> {
  const user = await env.DB.prepare("SELECT email FROM users WHERE id = ?").bind(userId).first<{ email: string | null }>();
  if (!user?.email) return null;
  return notify(env, { ...input, userId, channel: "email", recipient: user.email });
}

/**
 * A rule the whole request must meet (a plain user reaches only their own contacts), checked in
 * the batch that writes it, with the sender's allowance: so an allowed request makes no read of
 * its own before its write, and a refused one writes and counts nothing.
 */
export interface SenderRule {
  /** SQL true when the sender may send these messages; it guards every row and the allowance's take. */
  holds: { sql: string; params: unknown[] };
  /** A read in the same batch that `refusal` reads the reason from, so the reason is the batch's own. */
  explain: D1PreparedStatement;
  /** The error for a batch that wrote nothing, from `explain`'s result; null when the rule held (the allowance refused). */
  refusal: (explained: D1Result) => Error | null;
}

export interface NotifyOptions {
  /**
   * Count the messages against this account's hourly allowance in the same batch (429 when they
   * do not fit; then nothing is written), and hold them to its `rule`, which refuses first.
   */
  sender?: { userId: number; rule?: SenderRule };
  /**
   * For a route behind `idempotencyInBatch`: its answer, stored with the request's
   * Idempotency-Key claim in the rows' own batch. Given the rows as they will be written; their
   * `status` and `last_error` are decided by the batch (fill them in from it).
   */
  answer?: (planned: NotificationRow[]) => StoredAnswer;
}

/** The columns of a `NotificationRow`. */
export const NOTIFICATION_COLUMNS =
  "id, customer_id, channel, recipient, title, message, priority, category, status, attempts, last_error, scheduled_at, sent_at, created_at, updated_at";

/**
 * Many notifications in one D1 batch, then queue batches of 100. Each row's INSERT decides its
 * status in SQL: `skipped` with the reason when the customer's preferences hold it back, the
 * recipient opted out or had the day's messages (so history shows why nothing was sent), else
 * `queued` when it goes to the queue now and `pending` when the cron sweep will send it later.
 * The row is written `queued` before the message is sent, so the request makes no write after
 * the send: a send that fails puts its rows back to `pending` (the sweep sends them), and rows
 * whose request died before sending are sent again by the sweep once they wait too long.
 */
export async function notifyMany(env: Env, inputs: NotifyInput[], options: NotifyOptions = {}): Promise<NotifyResult[]> {
  if (inputs.length === 0) return [];
  const at = new Date();
  const now = at.toISOString();
  const prefs = await loadPreferences(env, inputs.flatMap((i) => (i.customerId ? [i.customerId] : [])));
  const sender = options.sender;
  const budget = sender ? senderBudgetInBatch(env, sender.userId, inputs.length, at, sender.rule?.holds) : null;
  const rows = await Promise.all(
    inputs.map(async (input) => {
      const priority = input.priority ?? "normal";
      const category = input.category ?? "system";
      const block = input.customerId ? preferenceBlock(prefs.get(input.customerId), { channel: input.channel, category, priority }) : null;
      const optional = isOptional(input);
      // Every message a recipient may refuse says how, with a link that works without an account.
      const message = optional ? `${input.message}\n\nStop these messages: ${await optOutLink(env, input.channel, input.recipient)}` : input.message;
      const queuedNow = secondsUntil(input.scheduledAt, at.getTime()) <= MAX_QUEUE_DELAY_SECONDS;
      return { id: uuid(), input, priority, category, message, block, optional, queuedNow };
    }),
  );

  const statements: D1PreparedStatement[] = [];
  const insertAt: number[] = [];
  for (const row of rows) {
    const { id, input, priority, category, message, block, optional, queuedNow } = row;
    // Urgent messages are not capped; a row held back by preferences is never counted.
    const daily = priority !== "urgent" && !block ? recipientDailyInBatch(env, input.channel, input.recipient, at) : null;
    const guard = budget ? budget.room : { sql: "1", params: [] };
    insertAt.push(statements.length);
    statements.push(
      env.DB.prepare(
        `INSERT INTO notifications (id, user_id, customer_id, channel, recipient, title, message, priority, category, status, last_error, dedupe_key, scheduled_at, created_at, updated_at)
         SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, CASE WHEN reason IS NULL THEN ? ELSE 'skipped' END, reason, ?, ?, ?, ?
           FROM (SELECT CASE
                   WHEN ? IS NOT NULL THEN ?
                   WHEN ? AND EXISTS (SELECT 1 FROM notification_opt_outs WHERE channel = ? AND recipient = ?) THEN ?
                   WHEN ? AND ${daily?.full.sql ?? "0"} THEN ?
                 END AS reason)
          WHERE ${guard.sql}
         ON CONFLICT (dedupe_key) DO NOTHING
         RETURNING ${NOTIFICATION_COLUMNS}`,
      ).bind(
        id, input.userId ?? null, input.customerId ?? null, input.channel, input.recipient, input.title, message, priority, category,
        queuedNow ? "queued" : "pending", input.dedupeKey ?? null, input.scheduledAt ?? null, now, now,
        block, block,
        optional ? 1 : 0, input.channel, input.recipient.trim().toLowerCase(), OPTED_OUT,
        daily ? 1 : 0, ...(daily?.full.params ?? []), RECIPIENT_LIMIT_REACHED,
        ...guard.params,
      ),
    );
    if (daily) statements.push(daily.count({ sql: "EXISTS (SELECT 1 FROM notifications WHERE id = ? AND status <> 'skipped')", params: [id] }));
  }
  const explainAt = sender?.rule ? statements.push(sender.rule.explain) - 1 : -1;
  if (budget) statements.push(budget.take);
  const results = options.answer ? await batchWithClaim(env, statements, options.answer(rows.map((r) => planned(r, now)))) : await env.DB.batch(statements);
  if (sender && results.at(-1)!.results.length === 0) {
    // The rule's refusal comes before the allowance's: whoever may not send this at all hears why, not "try later".
    const refused = sender.rule?.refusal(results[explainAt]!);
    if (refused) throw refused;
    await refuseSenderBudget(env, sender.userId, inputs.length, at);
  }

  const written = rows.map((_, i) => (results[insertAt[i]!]!.results[0] as NotificationRow | undefined) ?? null);
  const duplicateKeys = rows.filter((_, i) => !written[i]).map((r) => r.input.dedupeKey ?? "");
  const existing = new Map<string, { id: string; status: NotifyResult["status"] }>();
  if (duplicateKeys.length > 0) {
    const { results } = await env.DB.prepare(
      "SELECT id, status, dedupe_key FROM notifications WHERE dedupe_key IN (SELECT value FROM json_each(?))",
    )
      .bind(JSON.stringify(duplicateKeys))
      .all<{ id: string; status: NotifyResult["status"]; dedupe_key: string }>();
    for (const row of results) existing.set(row.dedupe_key, row);
  }

  const toEnqueue = written.filter((row): row is NotificationRow => row?.status === "queued");
  const unsent = await enqueue(env, toEnqueue);

  return rows.map((r, i) => {
    const row = written[i];
    if (!row) {
      const prior = existing.get(r.input.dedupeKey ?? "");
      return { id: prior?.id ?? r.id, duplicate: true, status: prior?.status ?? "pending" };
    }
    return { id: row.id, duplicate: false, status: row.status, row, ...(unsent.has(row.id) ? { queueSendFailed: true } : {}) };
  });
}

/** A row as notifyMany's INSERT writes it when nothing holds it back. */
function planned(r: { id: string; input: NotifyInput; priority: NotificationRow["priority"]; category: NotificationRow["category"]; message: string; queuedNow: boolean }, now: string): NotificationRow {
  return {
    id: r.id, customer_id: r.input.customerId ?? null, channel: r.input.channel, recipient: r.input.recipient, title: r.input.title, message: r.message,
    priority: r.priority, category: r.category, status: r.queuedNow ? "queued" : "pending", attempts: 0, last_error: null,
    scheduled_at: r.input.scheduledAt ?? null, sent_at: null, created_at: now, updated_at: now,
  };
}

/**
 * Sends the queue messages of rows written `queued` (delayed until `scheduled_at`). A queue
 * outage puts them back to `pending`, which the cron sweep enqueues later, and the caller's
 * request (an order, a purchase) still succeeds. The rows passed in are updated to match.
 */
async function enqueue(env: Env, rows: NotificationRow[]): Promise<Set<string>> {
  const sent = await sendToQueue(env, rows.map((r) => ({ id: r.id, scheduledAt: r.scheduled_at })));
  const unsent = rows.filter((r) => !sent.has(r.id));
  if (unsent.length === 0) return new Set();
  const at = nowIso();
  // Only a row no delivery has touched: if the message got through after all, the consumer's state stands.
  await env.DB.prepare(
    "UPDATE notifications SET status = 'pending', updated_at = ? WHERE status = 'queued' AND attempts = 0 AND id IN (SELECT value FROM json_each(?))",
  )
    .bind(at, JSON.stringify(unsent.map((r) => r.id)))
    .run();
  for (const row of unsent) Object.assign(row, { status: "pending", updated_at: at });
  return new Set(unsent.map((r) => r.id));
}

/**
 * Queue messages in batches of 100; returns the ids whose message was accepted. A single message
 * (a send, an order's update) goes through `send`: in the bench's CPU profiles a `sendBatch` of one
 * message took the isolate about 1.7 times as long as a `send`, and one message is what most
 * requests queue.
 */
export async function sendToQueue(env: Env, items: { id: string; scheduledAt: string | null }[]): Promise<Set<string>> {
  const sent = new Set<string>();
  const nowMs = Date.now();
  const message = (item: { id: string; scheduledAt: string | null }): MessageSendRequest<NotificationMessage> => {
    const delay = Math.min(secondsUntil(item.scheduledAt, nowMs), MAX_QUEUE_DELAY_SECONDS);
    const body: NotificationMessage = { type: "notification.deliver", notification_id: item.id };
    return delay > 0 ? { body, delaySeconds: delay } : { body };
  };
  for (let start = 0; start < items.length; start += SEND_BATCH_SIZE) {
    const chunk = items.slice(start, start + SEND_BATCH_SIZE);
    try {
      if (chunk.length === 1) {
        const { body, delaySeconds } = message(chunk[0]!);
        await env.NOTIFICATIONS.send(body, delaySeconds ? { delaySeconds } : undefined);
      } else {
        await env.NOTIFICATIONS.sendBatch(chunk.map(message));
      }
      for (const item of chunk) sent.add(item.id);
    } catch (error) {
      console.error(JSON.stringify({ level: "error", msg: "notification enqueue failed; the cron sweep will retry", count: chunk.length, error: String(error) }));
    }
  }
  return sent;
}
