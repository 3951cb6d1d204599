import { vouchers } from "../../db/schema";
import { formatAmount } from "../../lib/money";
import { mediaUrl } from "../media/images";
import { voucherTypeName, voucherValue } from "./voucher-value";

export type VoucherRow = typeof vouchers.$inferSelect;

const money = (v: number | null) => (v === null ? null : formatAmount(v));

/** The merchant's view of a voucher: the spec's create response plus what the merchant manages. */
export function toVoucherJson(v: VoucherRow, baseUrl: string) {
  return {
    id: v.id,
    uuid: v.uuid,
    title: v.title,
    message: v.message,
    terms_conditions: v.termsConditions,
    voucher_type: v.voucherType,
    voucher_type_name: voucherTypeName(v.voucherType),
    voucher_value: voucherValue(v),
    percentage_value: money(v.percentageValue),
    percentage_min_bill: money(v.percentageMinBill),
    flat_amount: money(v.flatAmount),
    flat_min_bill: money(v.flatMinBill),
    product_name: v.productName,
    product_min_bill: money(v.productMinBill),
    count: v.count,
    sold_count: v.soldCount,
    claimed_count: v.claimedCount,
    max_shares_per_purchase: v.maxSharesPerPurchase,
    redemptions_per_purchase: v.redemptionsPerPurchase,
    validity_days: v.validityDays,
    valid_from: v.validFrom,
    valid_until: v.validUntil,
    is_gift_card: v.isGiftCard,
    is_active: v.isActive,
    is_featured: v.isFeatured,
    image: mediaUrl(baseUrl, v.imageKey),
    merchant: v.merchantId,
    category: v.categoryId,
    created_at: v.createdAt,
    updated_at: v.updatedAt,
  };
}
