import { integer, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";
import { transactions } from "./wallet";

/** Queue messages no consumer could route or parse: kept for an operator, never silently acknowledged. */
export const deadLetters = sqliteTable(
  "dead_letters",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    queue: text("queue").notNull(),
    messageId: text("message_id").notNull(),
    body: text("body").notNull(),
    reason: text("reason").notNull(),
    attempts: integer("attempts").notNull(),
    createdAt: text("created_at").notNull(),
  },
  (t) => [uniqueIndex("dead_letters_message_idx").on(t.queue, t.messageId)],
);

/** An activation whose queue message is not yet accepted by the queue (written with the debit). */
export const activationOutbox = sqliteTable("activation_outbox", {
  transactionId: text("transaction_id").primaryKey().references(() => transactions.id),
  createdAt: text("created_at").notNull(),
});
