import { sql } from "drizzle-orm";
import { index, integer, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";
import { users } from "./auth";
import { merchants, voucherRedemptions, vouchers } from "./vouchers";

/** A user's phone contacts, in E.164; `isOnWhatsapp` null = unknown (the Cloud API has no contact check). */
export const whatsappContacts = sqliteTable(
  "whatsapp_contacts",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    userId: integer("user_id").notNull().references(() => users.id),
    name: text("name").notNull().default(""),
    phoneNumber: text("phone_number").notNull(),
    isOnWhatsapp: integer("is_on_whatsapp", { mode: "boolean" }),
    createdAt: text("created_at").notNull(),
    updatedAt: text("updated_at").notNull(),
  },
  (t) => [uniqueIndex("whatsapp_contacts_user_phone_idx").on(t.userId, t.phoneNumber)],
);

/** One gift card sent to one phone number; claimed at most once (guarded UPDATE + UNIQUE gift_share_id). */
export const giftCardShares = sqliteTable(
  "gift_card_shares",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    sourceRedemptionId: integer("source_redemption_id").notNull().references(() => voucherRedemptions.id),
    voucherId: integer("voucher_id").notNull().references(() => vouchers.id),
    sharerId: integer("sharer_id").notNull().references(() => users.id),
    recipientPhone: text("recipient_phone").notNull(),
    claimReference: text("claim_reference").notNull().unique(),
    sharedVia: text("shared_via").notNull().default("whatsapp"),
    notificationId: text("notification_id"),
    isClaimed: integer("is_claimed", { mode: "boolean" }).notNull().default(false),
    claimedBy: integer("claimed_by").references(() => users.id),
    claimedAt: text("claimed_at"),
    createdAt: text("created_at").notNull(),
  },
  (t) => [index("gift_card_shares_sharer_idx").on(t.sharerId, t.createdAt), index("gift_card_shares_source_idx").on(t.sourceRedemptionId)],
);

/** Who redeemed how much of a purchase, where and when; written in the decrement's batch. */
export const redemptionEvents = sqliteTable(
  "redemption_events",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    reference: text("reference").notNull().unique(),
    redemptionId: integer("redemption_id").notNull().references(() => voucherRedemptions.id),
    merchantId: integer("merchant_id").notNull().references(() => merchants.id),
    redeemedBy: integer("redeemed_by").notNull().references(() => users.id),
    quantity: integer("quantity").notNull(),
    remainingAfter: integer("remaining_after").notNull(),
    location: text("location").notNull().default(""),
    notes: text("notes").notNull().default(""),
    createdAt: text("created_at").notNull(),
  },
  (t) => [
    index("redemption_events_redemption_idx").on(t.redemptionId, t.createdAt),
    index("redemption_events_merchant_idx").on(t.merchantId, t.createdAt),
  ],
);

/** Location-targeted promotion of a voucher; dates are calendar days (YYYY-MM-DD, UTC), inclusive. */
export const advertisements = sqliteTable(
  "advertisements",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    merchantId: integer("merchant_id").notNull().references(() => merchants.id),
    voucherId: integer("voucher_id").notNull().references(() => vouchers.id),
    bannerKey: text("banner_key"),
    startDate: text("start_date").notNull(),
    endDate: text("end_date").notNull(),
    city: text("city").notNull().default(""),
    state: text("state").notNull().default(""),
    isActive: integer("is_active", { mode: "boolean" }).notNull().default(true),
    transactionId: text("transaction_id"),
    createdAt: text("created_at").notNull(),
    updatedAt: text("updated_at").notNull(),
  },
  (t) => [
    index("advertisements_active_idx").on(t.isActive, t.endDate),
    index("advertisements_merchant_idx").on(t.merchantId),
    // Ads are looked up by place without regard to case.
    index("advertisements_location_idx").on(sql`${t.city} COLLATE NOCASE`, sql`${t.state} COLLATE NOCASE`),
  ],
);
