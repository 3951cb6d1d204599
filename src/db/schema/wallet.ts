import { sql } from "drizzle-orm";
import { index, integer, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";
import { users } from "./auth";

/** Balance in minor units. The CHECK (balance >= 0) in the migration is the last line against overdraft. */
export const wallets = sqliteTable("wallets", {
  userId: integer("user_id").primaryKey().references(() => users.id),
  balance: integer("balance").notNull().default(0),
  updatedAt: text("updated_at").notNull(),
});

/** Append-only: corrections are new entries. balance = sum(amount) per user. */
export const ledgerEntries = sqliteTable(
  "ledger_entries",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    userId: integer("user_id").notNull().references(() => users.id),
    amount: integer("amount").notNull(),
    balanceAfter: integer("balance_after").notNull(),
    kind: text("kind").notNull(),
    transactionId: text("transaction_id"),
    idempotencyKey: text("idempotency_key").notNull(),
    note: text("note").notNull().default(""),
    createdAt: text("created_at").notNull(),
  },
  (t) => [
    uniqueIndex("ledger_entries_user_key_idx").on(t.userId, t.idempotencyKey),
    index("ledger_entries_transaction_idx").on(t.transactionId),
  ],
);

export const TRANSACTION_TYPES = [
  "ACTIVATION",
  "RENEWAL",
  "CREDIT",
  "BONUS",
  "VOUCHER_PURCHASE",
  "VOUCHER_REFUND",
  "ADVERTISEMENT",
  "ADVERTISEMENT_EXTENSION",
] as const;
export const TRANSACTION_STATUSES = ["PENDING", "SUCCESS", "FAILED", "REFUNDED", "CANCELLED"] as const;
export type TransactionStatus = (typeof TRANSACTION_STATUSES)[number];

/** A user-facing money movement with a status (an activation is PENDING until the partner answers). */
export const transactions = sqliteTable(
  "transactions",
  {
    id: text("id").primaryKey(),
    userId: integer("user_id").notNull().references(() => users.id),
    type: text("type", { enum: TRANSACTION_TYPES }).notNull(),
    status: text("status", { enum: TRANSACTION_STATUSES }).notNull(),
    amount: integer("amount").notNull(),
    offerId: integer("offer_id"),
    reference: text("reference"),
    description: text("description").notNull().default(""),
    failureReason: text("failure_reason"),
    createdAt: text("created_at").notNull(),
    updatedAt: text("updated_at").notNull(),
    /** A refunded activation the partner may have provisioned: we asked it to cancel (then) ... */
    partnerCancelRequestedAt: text("partner_cancel_requested_at"),
    /** ... and it acknowledged (then). Requested and not acknowledged: the cron asks again. */
    partnerCancelAcknowledgedAt: text("partner_cancel_acknowledged_at"),
    partnerCancelAttempts: integer("partner_cancel_attempts").notNull().default(0),
  },
  (t) => [
    index("transactions_user_idx").on(t.userId, t.createdAt),
    // The health check's stuck activations are a range of this index.
    index("transactions_status_type_created_idx").on(t.status, t.type, t.createdAt),
    // The cron's unacknowledged partner cancels: a partial index, small whatever the table's size.
    index("transactions_partner_cancel_idx")
      .on(t.partnerCancelRequestedAt)
      .where(sql`${t.partnerCancelRequestedAt} IS NOT NULL AND ${t.partnerCancelAcknowledgedAt} IS NULL`),
  ],
);

/** Admin-editable settings (`voucher_cost`, ...): integers of minor units unless named otherwise. */
export const siteSettings = sqliteTable("site_settings", {
  key: text("key").primaryKey(),
  value: text("value").notNull(),
  updatedAt: text("updated_at").notNull(),
});
