import type { Env } from "../../env";
import { eq, sql } from "drizzle-orm";
import { createDb } from "../../db/client";
import { customers, notificationPreferences, type NOTIFICATION_CATEGORIES, type NOTIFICATION_CHANNELS, type NOTIFICATION_PRIORITIES } from "../../db/schema";

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

type PreferenceRow = typeof notificationPreferences.$inferSelect;

/** A customer without a preferences row has the defaults. */
function fromRow(row: PreferenceRow | null): Preferences {
  if (!row) return { ...DEFAULT_PREFERENCES };
  return {
    email_enabled: row.emailEnabled,
    telegram_enabled: row.telegramEnabled,
    whatsapp_enabled: row.whatsappEnabled,
    order_updates: row.orderUpdates,
    promotional: row.promotional,
  };
}

/**
 * Preferences of several customers in one query; customers that no longer exist are absent. The
 * ids travel as one JSON parameter, so any number of them stays within D1's bound-parameter limit.
 */
export async function loadPreferences(env: Pick<Env, "DB">, customerIds: number[]): Promise<Map<number, Preferences>> {
  const out = new Map<number, Preferences>();
  if (customerIds.length === 0) return out;
  const rows = await createDb(env.DB)
    .select({ customerId: customers.id, preferences: notificationPreferences })
    .from(customers)
    .leftJoin(notificationPreferences, eq(notificationPreferences.customerId, customers.id))
    .where(sql`${customers.id} IN (SELECT value FROM json_each(${JSON.stringify([...new Set(customerIds)])}))`);
  for (const row of rows) out.set(row.customerId, fromRow(row.preferences));
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
