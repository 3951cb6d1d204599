import { desc } from "drizzle-orm";
import { index, integer, sqliteTable, text } from "drizzle-orm/sqlite-core";
import { users } from "./auth";

export const merchants = sqliteTable("merchants", {
  id: integer("id").primaryKey({ autoIncrement: true }),
  userId: integer("user_id").notNull().unique().references(() => users.id),
  businessName: text("business_name").notNull(),
  category: text("category").notNull().default(""),
  phone: text("phone"),
  address: text("address").notNull().default(""),
  city: text("city").notNull().default(""),
  state: text("state").notNull().default(""),
  isActive: integer("is_active", { mode: "boolean" }).notNull().default(true),
  createdAt: text("created_at").notNull(),
  updatedAt: text("updated_at").notNull(),
});

export const categories = sqliteTable("categories", {
  id: integer("id").primaryKey({ autoIncrement: true }),
  name: text("name").notNull().unique(),
  description: text("description").notNull().default(""),
  isActive: integer("is_active", { mode: "boolean" }).notNull().default(true),
  createdAt: text("created_at").notNull(),
});

/** 1 percentage, 2 flat, 3 product. Values and bills are integers of hundredths. */
export const VOUCHER_TYPES = { 1: "percentage", 2: "flat", 3: "product" } as const;

/**
 * A voucher's value columns by type (null where the type does not use them). A purchase carries
 * its own copy, frozen at sale, so both tables declare them: one fresh set of builders per table.
 */
const valueColumns = () => ({
  percentageValue: integer("percentage_value"),
  percentageMinBill: integer("percentage_min_bill"),
  flatAmount: integer("flat_amount"),
  flatMinBill: integer("flat_min_bill"),
  productName: text("product_name"),
  productMinBill: integer("product_min_bill"),
});

export const vouchers = sqliteTable(
  "vouchers",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    uuid: text("uuid").notNull().unique(),
    merchantId: integer("merchant_id").notNull().references(() => merchants.id),
    categoryId: integer("category_id").references(() => categories.id),
    title: text("title").notNull(),
    message: text("message").notNull().default(""),
    termsConditions: text("terms_conditions").notNull().default(""),
    voucherType: integer("voucher_type").notNull(),
    ...valueColumns(),
    /**
     * Stock; null = unlimited. Purchases (sold_count) plus claimed gift-card copies (claimed_count)
     * never exceed it: CHECK voucher_stock and the trigger vouchers_stock_guard refuse inside D1.
     */
    count: integer("count"),
    soldCount: integer("sold_count").notNull().default(0),
    claimedCount: integer("claimed_count").notNull().default(0),
    /** How many people one purchase of this gift card may be shared to (1..20), frozen on each purchase. */
    maxSharesPerPurchase: integer("max_shares_per_purchase").notNull().default(5),
    redemptionsPerPurchase: integer("redemptions_per_purchase").notNull().default(1),
    /** Days a purchase stays redeemable (capped by valid_until). */
    validityDays: integer("validity_days").notNull().default(365),
    validFrom: text("valid_from"),
    validUntil: text("valid_until"),
    isGiftCard: integer("is_gift_card", { mode: "boolean" }).notNull().default(false),
    isActive: integer("is_active", { mode: "boolean" }).notNull().default(true),
    isFeatured: integer("is_featured", { mode: "boolean" }).notNull().default(false),
    imageKey: text("image_key"),
    createdAt: text("created_at").notNull(),
    updatedAt: text("updated_at").notNull(),
  },
  (t) => [
    index("vouchers_merchant_idx").on(t.merchantId),
    index("vouchers_active_category_idx").on(t.isActive, t.categoryId),
    // The public listing's order (browse and search): a page is read in order, not sorted.
    index("vouchers_listing_idx").on(t.isActive, desc(t.isFeatured), desc(t.createdAt), desc(t.id)),
  ],
);

export const PURCHASE_STATUSES = ["purchased", "redeemed", "expired", "cancelled", "refunded"] as const;
export type PurchaseStatus = (typeof PURCHASE_STATUSES)[number];

/**
 * The spec's UserVoucherRedemption: one purchase (or one claimed gift card) and what is left of it.
 * migrations/0006 adds the trigger `voucher_redemptions_cancel_guard`: purchase_status becomes
 * 'cancelled' or 'refunded' only from 'purchased', with nothing redeemed and before expiry_date
 * (RAISE(ABORT, 'redemption_not_cancellable') otherwise), so the whole batch rolls back.
 * The terms columns (voucher_type ... terms_conditions, max_shares) are the voucher's terms at sale
 * time, filled by the trigger `voucher_redemptions_freeze_terms` and never changed afterwards.
 */
export const voucherRedemptions = sqliteTable(
  "voucher_redemptions",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    uuid: text("uuid").notNull().unique(),
    voucherId: integer("voucher_id").notNull().references(() => vouchers.id),
    /** Denormalised from the voucher so a scan authorises without a join. */
    merchantId: integer("merchant_id").notNull().references(() => merchants.id),
    userId: integer("user_id").notNull().references(() => users.id),
    purchaseReference: text("purchase_reference").notNull().unique(),
    purchaseStatus: text("purchase_status", { enum: PURCHASE_STATUSES }).notNull().default("purchased"),
    isGiftVoucher: integer("is_gift_voucher", { mode: "boolean" }).notNull().default(false),
    /** Set on a claimed gift card; UNIQUE so a share is claimed once. */
    giftShareId: integer("gift_share_id").unique(),
    sourceRedemptionId: integer("source_redemption_id"),
    purchaseCost: integer("purchase_cost").notNull().default(0),
    transactionId: text("transaction_id"),
    totalRedemptions: integer("total_redemptions").notNull(),
    /** CHECK (0 <= remaining <= total): a redemption is never used beyond its quantity. */
    remainingRedemptions: integer("remaining_redemptions").notNull(),
    purchasedAt: text("purchased_at").notNull(),
    expiryDate: text("expiry_date").notNull(),
    statusReason: text("status_reason"),
    statusChangedAt: text("status_changed_at"),
    lastRedeemedAt: text("last_redeemed_at"),
    updatedAt: text("updated_at").notNull(),
    voucherType: integer("voucher_type"),
    ...valueColumns(),
    termsConditions: text("terms_conditions"),
    /** People this purchase may still be shared to in total (0: not shareable). */
    maxShares: integer("max_shares").notNull().default(0),
  },
  (t) => [
    index("voucher_redemptions_user_idx").on(t.userId, t.purchasedAt),
    index("voucher_redemptions_voucher_idx").on(t.voucherId, t.purchasedAt),
    index("voucher_redemptions_status_expiry_idx").on(t.purchaseStatus, t.expiryDate),
  ],
);

/**
 * What the spec calls a "redemption" (`voucher_redemptions`, `redemption_id`) is a purchase: the
 * JSON and SQL keep the spec's names, and code that is new or reworked says what it means. A use
 * of the voucher at the till is a redemption *event* (`redemption_events`).
 */
export const voucherPurchases = voucherRedemptions;
export type VoucherPurchaseRow = typeof voucherPurchases.$inferSelect;
