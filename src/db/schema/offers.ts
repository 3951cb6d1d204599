import { index, integer, sqliteTable, text } from "drizzle-orm/sqlite-core";
import { users } from "./auth";

export const SANDBOX_OUTCOMES = ["succeed", "fail"] as const;
export const SUBSCRIPTION_STATUSES = ["pending", "active", "failed", "expired"] as const;
export type SubscriptionStatus = (typeof SUBSCRIPTION_STATUSES)[number];

/** Mirrors migrations/0002_offers.sql. Price in minor units. */
export const offers = sqliteTable(
  "offers",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    name: text("name").notNull(),
    description: text("description").notNull().default(""),
    price: integer("price").notNull(),
    durationDays: integer("duration_days").notNull(),
    isActive: integer("is_active", { mode: "boolean" }).notNull().default(true),
    partner: text("partner").notNull().default(""),
    sandboxOutcome: text("sandbox_outcome", { enum: SANDBOX_OUTCOMES }).notNull().default("succeed"),
    createdAt: text("created_at").notNull(),
    updatedAt: text("updated_at").notNull(),
  },
  (t) => [index("offers_active_idx").on(t.isActive, t.id)],
);

/** A user's offer: pending while the partner activates it, active until ends_at, then expired. */
export const subscriptions = sqliteTable(
  "subscriptions",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    userId: integer("user_id").notNull().references(() => users.id),
    offerId: integer("offer_id").notNull().references(() => offers.id),
    transactionId: text("transaction_id").notNull().unique(),
    reference: text("reference").notNull().unique(),
    status: text("status", { enum: SUBSCRIPTION_STATUSES }).notNull(),
    startsAt: text("starts_at"),
    endsAt: text("ends_at"),
    expiryNotifiedAt: text("expiry_notified_at"),
    createdAt: text("created_at").notNull(),
    updatedAt: text("updated_at").notNull(),
  },
  (t) => [index("subscriptions_user_idx").on(t.userId, t.status, t.endsAt), index("subscriptions_status_ends_idx").on(t.status, t.endsAt)],
);
