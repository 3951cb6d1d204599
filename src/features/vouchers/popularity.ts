/**
 * Popularity, one formula everywhere (statistics, popular, featured):
 *   popularity_score = 2 × purchase_count + redemption_count
 * purchase_count: distinct buyers holding a paid purchase of the voucher that was not cancelled or
 * refunded; redemption_count: distinct holders (buyers or gift-card recipients) who redeemed at
 * least one unit. Neither counts the voucher's own merchant, nor gift cards claimed from the
 * merchant's own purchases. So a buyer counts once per voucher however often they buy or redeem,
 * one purchase adds at most 3 to the score (2 for its buyer, 1 once redeemed) and a claimed gift
 * card at most 1, and a merchant trading with itself adds nothing. The spec's example (25 buyers,
 * 20 who redeemed, score 70) fits this formula.
 */
export const POPULARITY_FORMULA =
  "popularity_score = 2 × purchase_count + redemption_count (distinct buyers with a standing purchase; distinct holders who redeemed; the voucher's own merchant never counts)";

/**
 * Rows that may count towards a voucher's ranking: not the merchant's own, nor copies shared from
 * the merchant's own purchase. Select from `voucher_redemptions r` with this join and filter.
 */
export const COUNTABLE_HOLDERS = `JOIN merchants owner ON owner.id = r.merchant_id
  LEFT JOIN voucher_redemptions src ON src.id = r.source_redemption_id
 WHERE r.user_id != owner.user_id AND (src.user_id IS NULL OR src.user_id != owner.user_id)`;

/** One aggregate per voucher, joined (LEFT JOIN ... AS p ON p.voucher_id = v.id): never a query per row. */
export const POPULARITY_SUBQUERY = `(SELECT r.voucher_id,
    COUNT(DISTINCT CASE WHEN r.is_gift_voucher = 0 AND r.purchase_status NOT IN ('cancelled', 'refunded') THEN r.user_id END) AS purchase_count,
    COUNT(DISTINCT CASE WHEN r.remaining_redemptions < r.total_redemptions THEN r.user_id END) AS redemption_count
  FROM voucher_redemptions r ${COUNTABLE_HOLDERS}
 GROUP BY r.voucher_id)`;

export const PURCHASE_COUNT = "COALESCE(p.purchase_count, 0)";
export const REDEMPTION_COUNT = "COALESCE(p.redemption_count, 0)";
export const POPULARITY_SCORE = `(2 * ${PURCHASE_COUNT} + ${REDEMPTION_COUNT})`;
