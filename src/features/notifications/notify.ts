import type { Env } from "../../env";
import { uuid } from "../../lib/ids";
import { nowIso } from "../../lib/time";
import type { NOTIFICATION_CATEGORIES, NOTIFICATION_CHANNELS, NOTIFICATION_PRIORITIES, NOTIFICATION_STATUSES } from "../../db/schema";
import type { NotificationMessage } from "../../queues/messages";
import { loadPreferences, preferenceBlock } from "./preferences";
import { RECIPIENT_LIMIT_REACHED, recipientDailyStatement } from "./message-budget";
import { optedOut, optOutLink, recipientKey } from "./opt-out";

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
 * Many notifications with one D1 batch and queue batches of 100. Rows a customer's preferences
 * hold back are stored `skipped` with the reason, so history shows why nothing was sent.
 */
export async function notifyMany(env: Env, inputs: NotifyInput[]): Promise<NotifyResult[]> {
  if (inputs.length === 0) return [];
  const now = nowIso();
  const optional = inputs.filter(isOptional);
  const [prefs, optedOutKeys] = await Promise.all([
    loadPreferences(env, inputs.flatMap((i) => (i.customerId ? [i.customerId] : []))),
    optedOut(env, optional),
  ]);
  const rows = await Promise.all(
    inputs.map(async (input) => {
      const priority = input.priority ?? "normal";
      const category = input.category ?? "system";
      let block = input.customerId ? preferenceBlock(prefs.get(input.customerId), { channel: input.channel, category, priority }) : null;
      let message = input.message;
      if (isOptional(input)) {
        if (!block && optedOutKeys.has(recipientKey(input.channel, input.recipient))) block = OPTED_OUT;
        // Every message a recipient may refuse says how, with a link that works without an account.
        message = `${message}\n\nStop these messages: ${await optOutLink(env, input.channel, input.recipient)}`;
      }
      return { id: uuid(), input, priority, category, message, block };
    }),
  );

  const inserted = await env.DB.batch(
    rows.map(({ id, input, priority, category, message, block }) =>
      env.DB.prepare(
        `INSERT INTO notifications (id, user_id, customer_id, channel, recipient, title, message, priority, category, status, last_error, dedupe_key, scheduled_at, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (dedupe_key) DO NOTHING`,
      ).bind(
        id, input.userId ?? null, input.customerId ?? null, input.channel, input.recipient, input.title, message, priority, category,
        block ? "skipped" : "pending", block, input.dedupeKey ?? null, input.scheduledAt ?? null, now, now,
      ),
    ),
  );
  await capPerRecipient(env, rows.filter((r, i) => inserted[i]!.meta.changes === 1 && !r.block && r.priority !== "urgent"));
  const duplicateKeys = rows.filter((_, i) => inserted[i]!.meta.changes === 0).map((r) => r.input.dedupeKey ?? "");
  const existing = new Map<string, { id: string; status: NotifyResult["status"] }>();
  if (duplicateKeys.length > 0) {
    const { results } = await env.DB.prepare(
      "SELECT id, status, dedupe_key FROM notifications WHERE dedupe_key IN (SELECT value FROM json_each(?))",
    )
      .bind(JSON.stringify(duplicateKeys))
      .all<{ id: string; status: NotifyResult["status"]; dedupe_key: string }>();
    for (const row of results) existing.set(row.dedupe_key, row);
  }

  const nowMs = Date.now();
  const toEnqueue = rows.filter(
    (r, i) => inserted[i]!.meta.changes === 1 && !r.block && secondsUntil(r.input.scheduledAt, nowMs) <= MAX_QUEUE_DELAY_SECONDS,
  );
  const queued = await enqueue(env, toEnqueue.map((r) => ({ id: r.id, scheduledAt: r.input.scheduledAt ?? null })));

  return rows.map((r, i) => {
    if (inserted[i]!.meta.changes === 0) {
      const prior = existing.get(r.input.dedupeKey ?? "");
      return { id: prior?.id ?? r.id, duplicate: true, status: prior?.status ?? "pending" };
    }
    const status = r.block ? "skipped" : queued.has(r.id) ? "queued" : "pending";
    return { id: r.id, duplicate: false, status };
  });
}

/**
 * Each recipient gets at most RECIPIENT_DAILY_MESSAGE_LIMIT non-urgent messages a day from
 * everyone together: the ones past it are stored `skipped` with the reason. Counted after the
 * insert, so a deduplicated retry uses nothing.
 */
async function capPerRecipient(env: Env, rows: { id: string; input: NotifyInput; block: string | null }[]) {
  if (rows.length === 0) return;
  const now = new Date();
  const taken = await env.DB.batch(rows.map((r) => recipientDailyStatement(env, r.input.channel, r.input.recipient, now)));
  const over = rows.filter((_, i) => taken[i]!.results.length === 0);
  if (over.length === 0) return;
  for (const row of over) row.block = RECIPIENT_LIMIT_REACHED;
  await env.DB.prepare("UPDATE notifications SET status = 'skipped', last_error = ?, updated_at = ? WHERE id IN (SELECT value FROM json_each(?))")
    .bind(RECIPIENT_LIMIT_REACHED, nowIso(), JSON.stringify(over.map((r) => r.id)))
    .run();
}

/**
 * Sends the queue messages (delayed until `scheduledAt`) and marks the rows `queued`. A queue
 * outage leaves them `pending`: the cron sweep enqueues them later, and the caller's request
 * (an order, a purchase) still succeeds.
 */
async function enqueue(env: Env, items: { id: string; scheduledAt: string | null }[]): Promise<Set<string>> {
  const sent = await sendToQueue(env, items);
  if (sent.size > 0) {
    await env.DB.prepare("UPDATE notifications SET status = 'queued', updated_at = ? WHERE status = 'pending' AND id IN (SELECT value FROM json_each(?))")
      .bind(nowIso(), JSON.stringify([...sent]))
      .run();
  }
  return sent;
}

/** Queue messages in batches of 100; returns the ids whose message was accepted. */
export async function sendToQueue(env: Env, items: { id: string; scheduledAt: string | null }[]): Promise<Set<string>> {
  const sent = new Set<string>();
  const nowMs = Date.now();
  for (let start = 0; start < items.length; start += SEND_BATCH_SIZE) {
    const chunk = items.slice(start, start + SEND_BATCH_SIZE);
    try {
      await env.NOTIFICATIONS.sendBatch(
        chunk.map((item) => {
          const delay = Math.min(secondsUntil(item.scheduledAt, nowMs), MAX_QUEUE_DELAY_SECONDS);
          const body: NotificationMessage = { type: "notification.deliver", notification_id: item.id };
          return delay > 0 ? { body, delaySeconds: delay } : { body };
        }),
      );
      for (const item of chunk) sent.add(item.id);
    } catch (error) {
      console.error(JSON.stringify({ level: "error", msg: "notification enqueue failed; the cron sweep will retry", count: chunk.length, error: String(error) }));
    }
  }
  return sent;
}
