import type { Env } from "../../env";
import { uuid } from "../../lib/ids";
import { nowIso } from "../../lib/time";
import type { NOTIFICATION_CATEGORIES, NOTIFICATION_CHANNELS, NOTIFICATION_PRIORITIES } from "../../db/schema";

export interface NotifyInput {
  /** The user on whose behalf (or to whom) it is sent; owns the notification's history row. */
  userId?: number | null;
  customerId?: number | null;
  channel: (typeof NOTIFICATION_CHANNELS)[number];
  recipient: string;
  title: string;
  message: string;
  priority?: (typeof NOTIFICATION_PRIORITIES)[number];
  category?: (typeof NOTIFICATION_CATEGORIES)[number];
  /** The same key notifies once, however often it is asked (cron runs, queue redeliveries). */
  dedupeKey?: string;
  scheduledAt?: string | null;
}

/**
 * The one way any feature sends a message: a D1 row first (the truth about delivery), then a
 * queue message the notification consumer delivers through a provider.
 */
export async function notify(env: Env, input: NotifyInput): Promise<{ id: string; duplicate: boolean }> {
  const id = uuid();
  const now = nowIso();
  const inserted = await env.DB.prepare(
    `INSERT INTO notifications (id, user_id, customer_id, channel, recipient, title, message, priority, category, status, dedupe_key, scheduled_at, created_at, updated_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?, ?) ON CONFLICT (dedupe_key) DO NOTHING`,
  )
    .bind(id, input.userId ?? null, input.customerId ?? null, input.channel, input.recipient, input.title, input.message, input.priority ?? "normal", input.category ?? "system", input.dedupeKey ?? null, input.scheduledAt ?? null, now, now)
    .run();
  if (inserted.meta.changes === 0) {
    const existing = await env.DB.prepare("SELECT id FROM notifications WHERE dedupe_key = ?").bind(input.dedupeKey ?? null).first<{ id: string }>();
    return { id: existing?.id ?? id, duplicate: true };
  }
  await env.NOTIFICATIONS.send({ type: "notification.deliver", notification_id: id });
  await env.DB.prepare("UPDATE notifications SET status = 'queued', updated_at = ? WHERE id = ? AND status = 'pending'").bind(nowIso(), id).run();
  return { id, duplicate: false };
}

/** A notice to a user account (activation results, expiry notices): by email to their address. */
export async function notifyUser(
  env: Env,
  userId: number,
  input: Omit<NotifyInput, "userId" | "channel" | "recipient">,
): Promise<{ id: string; duplicate: boolean } | null> {
  const user = await env.DB.prepare("SELECT email FROM users WHERE id = ?").bind(userId).first<{ email: string | null }>();
  if (!user?.email) return null;
  return notify(env, { ...input, userId, channel: "email", recipient: user.email });
}
