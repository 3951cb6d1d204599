import type { Env } from "../../env";
import type { NOTIFICATION_CATEGORIES, NOTIFICATION_CHANNELS, NOTIFICATION_PRIORITIES } from "../../db/schema";

export interface Preferences {
  email_enabled: boolean;
  telegram_enabled: boolean;
  whatsapp_enabled: boolean;
  order_updates: boolean;
  promotional: boolean;
}

export const DEFAULT_PREFERENCES: Preferences = {
  email_enabled: true,
  telegram_enabled: true,
  whatsapp_enabled: true,
  order_updates: true,
  promotional: false,
};

interface PreferenceRow {
  customer_id: number;
  email_enabled: number | null;
  telegram_enabled: number | null;
  whatsapp_enabled: number | null;
  order_updates: number | null;
  promotional: number | null;
}

function fromRow(row: PreferenceRow): Preferences {
  // A customer without a preferences row has the defaults (LEFT JOIN gives nulls).
  const pick = (value: number | null, fallback: boolean) => (value === null ? fallback : value === 1);
  return {
    email_enabled: pick(row.email_enabled, DEFAULT_PREFERENCES.email_enabled),
    telegram_enabled: pick(row.telegram_enabled, DEFAULT_PREFERENCES.telegram_enabled),
    whatsapp_enabled: pick(row.whatsapp_enabled, DEFAULT_PREFERENCES.whatsapp_enabled),
    order_updates: pick(row.order_updates, DEFAULT_PREFERENCES.order_updates),
    promotional: pick(row.promotional, DEFAULT_PREFERENCES.promotional),
  };
}

/** Preferences of several customers in one query; customers that no longer exist are absent. */
export async function loadPreferences(env: Env, customerIds: number[]): Promise<Map<number, Preferences>> {
  const out = new Map<number, Preferences>();
  if (customerIds.length === 0) return out;
  const { results } = await env.DB.prepare(
    `SELECT c.id AS customer_id, p.email_enabled, p.telegram_enabled, p.whatsapp_enabled, p.order_updates, p.promotional
       FROM customers c LEFT JOIN notification_preferences p ON p.customer_id = c.id
      WHERE c.id IN (SELECT value FROM json_each(?))`,
  )
    .bind(JSON.stringify([...new Set(customerIds)]))
    .all<PreferenceRow>();
  for (const row of results) out.set(row.customer_id, fromRow(row));
  return out;
}

/**
 * Why a customer's preferences hold this notification back, or null to send it. An urgent
 * transactional message (a security or payment notice) is sent whatever the preferences say:
 * it is not marketing and the customer needs it.
 */
export function preferenceBlock(
  prefs: Preferences | undefined,
  notification: {
    channel: (typeof NOTIFICATION_CHANNELS)[number];
    category: (typeof NOTIFICATION_CATEGORIES)[number];
    priority: (typeof NOTIFICATION_PRIORITIES)[number];
  },
): string | null {
  if (notification.priority === "urgent" && notification.category === "transactional") return null;
  if (!prefs) return "The customer record no longer exists.";
  if (!prefs[`${notification.channel}_enabled`]) return `Skipped: the customer turned off ${notification.channel} notifications.`;
  if (notification.category === "order_update" && !prefs.order_updates) return "Skipped: the customer turned off order updates.";
  if (notification.category === "promotional" && !prefs.promotional) return "Skipped: the customer has not opted in to promotional messages.";
  return null;
}
