import type { Env } from "../../env";
import { addDays, nowIso } from "../../lib/time";
import { requireMerchant } from "../merchants/merchants.service";
import { mediaUrl } from "../media/images";
import { POPULARITY_SCORE, POPULARITY_SUBQUERY, PURCHASE_COUNT, REDEMPTION_COUNT } from "./popularity";
import { voucherTypeName } from "./voucher-value";

interface PerformerRow {
  id: number;
  title: string;
  purchase_count: number;
  redemption_count: number;
  popularity_score: number;
}

const performer = (r: PerformerRow) => ({
  id: r.id,
  title: r.title,
  purchase_count: r.purchase_count,
  redemption_count: r.redemption_count,
  popularity_score: r.popularity_score,
});

/**
 * The caller's totals, last 30 days and top five, in one D1 round trip. Redemptions in the last
 * 30 days come from the redemption events the merchant's scans write.
 */
export async function voucherStatistics(env: Env, userId: number) {
  const merchant = await requireMerchant(env, userId);
  const since = addDays(nowIso(), -30);
  const [totals, recent, top] = await env.DB.batch([
    env.DB.prepare(
      `SELECT (SELECT COUNT(*) FROM vouchers WHERE merchant_id = ?1) AS total_vouchers,
              COALESCE(SUM(CASE WHEN is_gift_voucher = 0 AND purchase_status NOT IN ('cancelled', 'refunded') THEN 1 ELSE 0 END), 0) AS total_purchases,
              COALESCE(SUM(total_redemptions - remaining_redemptions), 0) AS total_redemptions
         FROM voucher_redemptions WHERE merchant_id = ?1`,
    ).bind(merchant.id),
    env.DB.prepare(
      `SELECT (SELECT COUNT(*) FROM voucher_redemptions WHERE merchant_id = ?1 AND is_gift_voucher = 0
                 AND purchase_status NOT IN ('cancelled', 'refunded') AND purchased_at >= ?2) AS purchases_last_30_days,
              (SELECT COALESCE(SUM(quantity), 0) FROM redemption_events WHERE merchant_id = ?1 AND created_at >= ?2) AS redemptions_last_30_days`,
    ).bind(merchant.id, since),
    env.DB.prepare(
      `SELECT v.id, v.title, ${PURCHASE_COUNT} AS purchase_count, ${REDEMPTION_COUNT} AS redemption_count, ${POPULARITY_SCORE} AS popularity_score
         FROM vouchers v LEFT JOIN ${POPULARITY_SUBQUERY} p ON p.voucher_id = v.id
        WHERE v.merchant_id = ?1 ORDER BY popularity_score DESC, v.id DESC LIMIT 5`,
    ).bind(merchant.id),
  ]);
  const t = totals!.results[0] as { total_vouchers: number; total_purchases: number; total_redemptions: number };
  const r = recent!.results[0] as { purchases_last_30_days: number; redemptions_last_30_days: number };
  return {
    total_vouchers: t.total_vouchers,
    total_purchases: t.total_purchases,
    total_redemptions: t.total_redemptions,
    // One decimal, like the spec's 80.0; redeemed units per purchase can pass 100 with multi-use vouchers.
    redemption_rate: t.total_purchases === 0 ? 0 : Math.round((t.total_redemptions * 1000) / t.total_purchases) / 10,
    recent_activity: { purchases_last_30_days: r.purchases_last_30_days, redemptions_last_30_days: r.redemptions_last_30_days },
    top_performing_vouchers: (top!.results as unknown as PerformerRow[]).map(performer),
  };
}

/** Popular across the marketplace: listed vouchers (active, of active merchants) by popularity score. */
export async function popularVouchers(env: Env, baseUrl: string, limit = 10) {
  const now = nowIso();
  const { results } = await env.DB.prepare(
    `SELECT v.id, v.title, v.voucher_type, v.image_key, m.business_name AS merchant, c.name AS category,
            ${PURCHASE_COUNT} AS purchase_count, ${REDEMPTION_COUNT} AS redemption_count, ${POPULARITY_SCORE} AS popularity_score
       FROM vouchers v
       JOIN merchants m ON m.id = v.merchant_id
       LEFT JOIN categories c ON c.id = v.category_id
       LEFT JOIN ${POPULARITY_SUBQUERY} p ON p.voucher_id = v.id
      WHERE v.is_active = 1 AND m.is_active = 1 AND (v.valid_until IS NULL OR v.valid_until > ?1)
      ORDER BY popularity_score DESC, v.id DESC LIMIT ?2`,
  )
    .bind(now, limit)
    .all<PerformerRow & { voucher_type: number; image_key: string | null; merchant: string; category: string | null }>();
  const popular = results.map((r) => ({
    ...performer(r),
    merchant: r.merchant,
    voucher_type: voucherTypeName(r.voucher_type),
    category: r.category,
    image: mediaUrl(baseUrl, r.image_key),
  }));
  return { popular_vouchers: popular, total_count: popular.length, message: "Popular vouchers based on purchase and redemption activity" };
}
