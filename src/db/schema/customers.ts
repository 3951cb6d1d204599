import { sql } from "drizzle-orm";
import { index, integer, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";
import { users } from "./auth";

/** A contact record a user owns; notifications about orders go to its channels. */
export const customers = sqliteTable(
  "customers",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    ownerUserId: integer("owner_user_id").notNull().references(() => users.id),
    name: text("name").notNull(),
    email: text("email"),
    /** E.164. */
    phone: text("phone"),
    telegramChatId: text("telegram_chat_id"),
    address: text("address").notNull().default(""),
    city: text("city").notNull().default(""),
    country: text("country").notNull().default(""),
    postalCode: text("postal_code").notNull().default(""),
    createdAt: text("created_at").notNull(),
    updatedAt: text("updated_at").notNull(),
  },
  (t) => [
    index("customers_owner_idx").on(t.ownerUserId, t.createdAt),
    uniqueIndex("customers_owner_email_idx").on(t.ownerUserId, t.email).where(sql`email IS NOT NULL`),
  ],
);

/** No row means the defaults (channels on, order updates on, promotional off). */
export const notificationPreferences = sqliteTable("notification_preferences", {
  customerId: integer("customer_id")
    .primaryKey()
    .references(() => customers.id, { onDelete: "cascade" }),
  emailEnabled: integer("email_enabled", { mode: "boolean" }).notNull().default(true),
  telegramEnabled: integer("telegram_enabled", { mode: "boolean" }).notNull().default(true),
  whatsappEnabled: integer("whatsapp_enabled", { mode: "boolean" }).notNull().default(true),
  orderUpdates: integer("order_updates", { mode: "boolean" }).notNull().default(true),
  promotional: integer("promotional", { mode: "boolean" }).notNull().default(false),
  updatedAt: text("updated_at").notNull(),
});

export const ORDER_STATUSES = ["pending", "confirmed", "processing", "shipped", "delivered", "cancelled", "refunded"] as const;

export const orders = sqliteTable(
  "orders",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    orderNumber: text("order_number").notNull().unique(),
    userId: integer("user_id").notNull().references(() => users.id),
    customerId: integer("customer_id").notNull().references(() => customers.id),
    status: text("status", { enum: ORDER_STATUSES }).notNull().default("pending"),
    /** Minor units. */
    totalAmount: integer("total_amount").notNull(),
    currency: text("currency").notNull().default("INR"),
    shippingAddress: text("shipping_address").notNull().default(""),
    shippingMethod: text("shipping_method").notNull().default(""),
    trackingNumber: text("tracking_number").notNull().unique(),
    notes: text("notes").notNull().default(""),
    createdAt: text("created_at").notNull(),
    updatedAt: text("updated_at").notNull(),
  },
  (t) => [index("orders_user_idx").on(t.userId, t.createdAt), index("orders_customer_idx").on(t.customerId)],
);

export const orderStatusHistory = sqliteTable(
  "order_status_history",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    orderId: integer("order_id")
      .notNull()
      .references(() => orders.id, { onDelete: "cascade" }),
    fromStatus: text("from_status"),
    toStatus: text("to_status").notNull(),
    changedBy: integer("changed_by").references(() => users.id),
    createdAt: text("created_at").notNull(),
  },
  (t) => [index("order_status_history_order_idx").on(t.orderId, t.id)],
);

/** What the sandbox provider recorded instead of sending (no credentials for the channel). */
export const notificationOutbox = sqliteTable("notification_outbox", {
  id: integer("id").primaryKey({ autoIncrement: true }),
  notificationId: text("notification_id").notNull().unique(),
  channel: text("channel").notNull(),
  recipient: text("recipient").notNull(),
  title: text("title").notNull(),
  message: text("message").notNull(),
  createdAt: text("created_at").notNull(),
});
