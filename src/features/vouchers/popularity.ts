/**
 * Popularity, one formula everywhere (statistics, popular, featured):
 *   popularity_score = 2 × purchase_count + redemption_count
 * purchase_count counts paid purchases that were not cancelled or refunded (claimed gift cards are
 * not purchases); redemption_count counts redeemed units (total - remaining) over every purchase
 * and claimed gift card of the voucher. The spec's example (25 purchases, 20 redemptions, score 70)
 * fits this formula.
 */
export const POPULARITY_FORMULA = "popularity_score = 2 × purchase_count + redemption_count";

/** One aggregate per voucher, joined (LEFT JOIN ... AS p ON p.voucher_id = v.id): never a query per row. */
export const POPULARITY_SUBQUERY = `(SELECT voucher_id,
    SUM(CASE WHEN is_gift_voucher = 0 AND purchase_status NOT IN ('cancelled', 'refunded') THEN 1 ELSE 0 END) AS purchase_count,
    SUM(total_redemptions - remaining_redemptions) AS redemption_count
  FROM voucher_redemptions GROUP BY voucher_id)`;

export const PURCHASE_COUNT = "COALESCE(p.purchase_count, 0)";
export const REDEMPTION_COUNT = "COALESCE(p.redemption_count, 0)";
export const POPULARITY_SCORE = `(2 * ${PURCHASE_COUNT} + ${REDEMPTION_COUNT})`;
