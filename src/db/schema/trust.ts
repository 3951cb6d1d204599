import { index, integer, primaryKey, sqliteTable, text } from "drizzle-orm/sqlite-core";

/** Fixed-window counters (login failures, messages per sender and per recipient). */
export const rateCounters = sqliteTable(
  "rate_counters",
  {
    key: text("key").primaryKey(),
    count: integer("count").notNull(),
    windowStartedAt: text("window_started_at").notNull(),
  },
  (t) => [index("rate_counters_window_idx").on(t.windowStartedAt)],
);

/** A recipient who opted out of non-transactional messages on one channel. */
export const notificationOptOuts = sqliteTable(
  "notification_opt_outs",
  {
    channel: text("channel").notNull(),
    recipient: text("recipient").notNull(),
    createdAt: text("created_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.channel, t.recipient] })],
);
