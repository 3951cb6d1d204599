import { index, integer, sqliteTable, text } from "drizzle-orm/sqlite-core";
import { users } from "./auth";

export const NOTIFICATION_CHANNELS = ["email", "telegram", "whatsapp"] as const;
export const NOTIFICATION_PRIORITIES = ["low", "normal", "high", "urgent"] as const;
export const NOTIFICATION_STATUSES = ["pending", "queued", "sent", "failed", "skipped"] as const;
export type NotificationStatus = (typeof NOTIFICATION_STATUSES)[number];
export const NOTIFICATION_CATEGORIES = ["transactional", "order_update", "promotional", "system"] as const;

/** Every notification is a row first, then a queue message: the row is the truth about delivery. */
export const notifications = sqliteTable(
  "notifications",
  {
    id: text("id").primaryKey(),
    userId: integer("user_id").references(() => users.id),
    customerId: integer("customer_id"),
    channel: text("channel", { enum: NOTIFICATION_CHANNELS }).notNull(),
    recipient: text("recipient").notNull(),
    title: text("title").notNull(),
    message: text("message").notNull(),
    priority: text("priority", { enum: NOTIFICATION_PRIORITIES }).notNull().default("normal"),
    category: text("category", { enum: NOTIFICATION_CATEGORIES }).notNull().default("system"),
    status: text("status", { enum: NOTIFICATION_STATUSES }).notNull().default("pending"),
    attempts: integer("attempts").notNull().default(0),
    lastError: text("last_error"),
    dedupeKey: text("dedupe_key").unique(),
    scheduledAt: text("scheduled_at"),
    sentAt: text("sent_at"),
    providerMessageId: text("provider_message_id"),
    /** Added by migration 0005: a delivery holds the row until then, so two cannot both send. */
    leaseUntil: text("lease_until"),
    createdAt: text("created_at").notNull(),
    updatedAt: text("updated_at").notNull(),
  },
  (t) => [
    index("notifications_user_idx").on(t.userId, t.createdAt),
    index("notifications_status_scheduled_idx").on(t.status, t.scheduledAt),
    // The health check's stuck notifications are a range of this index.
    index("notifications_status_updated_idx").on(t.status, t.updatedAt),
  ],
);
