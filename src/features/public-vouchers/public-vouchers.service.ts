import type { Env } from "../../env";
import { notFound } from "../../lib/errors";
import { pageWindow, paginated } from "../../lib/pagination";
import { addDays, nowIso } from "../../lib/time";
import { mediaUrl } from "../media/images";
import { costSettingSql } from "../settings/settings.service";
import { COUNTABLE_HOLDERS, POPULARITY_SCORE, POPULARITY_SUBQUERY } from "../vouchers/popularity";
import { compactAmount, type VoucherValueRow, voucherTypeName, voucherValueColumns, voucherValueOfRow } from "../vouchers/voucher-value";
import type { BrowseQuery } from "./public-vouchers.schemas";

export interface DiscoveryDeps {
  env: Env;
  baseUrl: string;
  /** The signed-in caller, if any: is_purchased and can_purchase are about them. */
  userId: number | null;
}

interface ItemRow extends VoucherValueRow {
  id: number;
  title: string;
  message: string;
  merchant_id: number;
  merchant_name: string;
  category_id: number | null;
  is_gift_card: number;
  image_key: string | null;
  valid_until: string | null;
  cost: number;
  is_purchased: number;
  can_purchase: number;
}

/** The spec's "10 points": the voucher_cost setting (minor units) in points. */
export const pointsLabel = (minor: number) => `${compactAmount(minor)} points`;

/** Positional parameters numbered as they are added, so one value can appear in the SQL twice. */
class Params {
  readonly values: unknown[] = [];
  add(value: unknown) {
    this.values.push(value);
    return `?${this.values.length}`;
  }
}

const escapeLike = (text: string) => text.replace(/[\\%_]/g, (ch) => `\\${ch}`);

/**
 * Listed = active voucher of an active merchant inside its sale window. Gift-card vouchers are
 * listed and sold like any other (the spec's flow buys a gift card first, then shares it).
 * is_purchased and can_purchase are computed in the same statement, never per row. Parameters are
 * numbered (?N), so callers may add theirs before or after these.
 */
function discoverySql(
  params: Params,
  userId: number | null,
  options: { where?: string; joins?: string; select?: string; orderBy: string; limit: number; offset?: number },
) {
  const user = params.add(userId);
  const now = params.add(nowIso());
  return `WITH s AS (SELECT ${costSettingSql("voucher_cost")} AS cost)
SELECT v.id, v.title, v.message, v.merchant_id, m.business_name AS merchant_name, v.category_id,
       ${voucherValueColumns("v")}, v.is_gift_card, v.image_key, v.valid_until, s.cost,
       CASE WHEN ${user} IS NULL THEN 0 ELSE EXISTS (
         SELECT 1 FROM voucher_redemptions r WHERE r.voucher_id = v.id AND r.user_id = ${user} AND r.is_gift_voucher = 0
            AND r.purchase_status NOT IN ('cancelled', 'refunded')) END AS is_purchased,
       ((v.count IS NULL OR v.sold_count + v.claimed_count < v.count)
         AND (${user} IS NULL OR COALESCE((SELECT balance FROM wallets WHERE user_id = ${user}), 0) >= s.cost)) AS can_purchase
       ${options.select ?? ""}
  FROM vouchers v JOIN merchants m ON m.id = v.merchant_id CROSS JOIN s ${options.joins ?? ""}
 WHERE ${listedWhere(now)} ${options.where ?? ""}
 ORDER BY ${options.orderBy}
 LIMIT ${params.add(options.limit)} OFFSET ${params.add(options.offset ?? 0)}`;
}

const listedWhere = (now: string) =>
  `v.is_active = 1 AND m.is_active = 1 AND (v.valid_until IS NULL OR v.valid_until > ${now}) AND (v.valid_from IS NULL OR v.valid_from <= ${now})`;

function toItem(r: ItemRow, baseUrl: string) {
  return {
    id: r.id,
    title: r.title,
    message: r.message,
    merchant: r.merchant_id,
    merchant_name: r.merchant_name,
    category: r.category_id,
    voucher_type: r.voucher_type,
    voucher_type_name: voucherTypeName(r.voucher_type),
    voucher_value: voucherValueOfRow(r),
    purchase_cost: pointsLabel(r.cost),
    is_gift_card: r.is_gift_card === 1,
    image: mediaUrl(baseUrl, r.image_key),
    valid_until: r.valid_until,
    is_purchased: r.is_purchased === 1,
    can_purchase: r.can_purchase === 1,
  };
}

function filterSql(params: Params, q: BrowseQuery) {
  const parts: string[] = [];
  if (q.category !== undefined) parts.push(`AND v.category_id = ${params.add(q.category)}`);
  if (q.merchant !== undefined) parts.push(`AND v.merchant_id = ${params.add(q.merchant)}`);
  if (q.voucher_type !== undefined) parts.push(`AND v.voucher_type = ${params.add(q.voucher_type)}`);
  if (q.is_gift_card !== undefined) parts.push(`AND v.is_gift_card = ${params.add(q.is_gift_card ? 1 : 0)}`);
  if (q.search) {
    const pattern = params.add(`%${escapeLike(q.search)}%`);
    parts.push(
      `AND (v.title LIKE ${pattern} ESCAPE '\\' OR v.message LIKE ${pattern} ESCAPE '\\' OR m.business_name LIKE ${pattern} ESCAPE '\\')`,
    );
  }
  return parts.join(" ");
}

export async function browseVouchers({ env, baseUrl, userId }: DiscoveryDeps, requestUrl: string, q: BrowseQuery) {
  const { limit, offset } = pageWindow(q);
  const listParams = new Params();
  const listSql = discoverySql(listParams, userId, {
    where: filterSql(listParams, q),
    orderBy: "v.is_featured DESC, v.created_at DESC, v.id DESC",
    limit,
    offset,
  });
  const countParams = new Params();
  const countNow = countParams.add(nowIso());
  const countSql = `SELECT COUNT(*) AS n FROM vouchers v JOIN merchants m ON m.id = v.merchant_id WHERE ${listedWhere(countNow)} ${filterSql(countParams, q)}`;
  const [page, total] = await env.DB.batch([
    env.DB.prepare(listSql).bind(...listParams.values),
    env.DB.prepare(countSql).bind(...countParams.values),
  ]);
  const count = (total!.results[0] as { n: number }).n;
  return paginated(requestUrl, q, count, (page!.results as unknown as ItemRow[]).map((r) => toItem(r, baseUrl)));
}

export async function publicVoucher({ env, baseUrl, userId }: DiscoveryDeps, id: number) {
  const params = new Params();
  const sql = discoverySql(params, userId, { where: `AND v.id = ${params.add(id)}`, orderBy: "v.id", limit: 1 });
  const row = await env.DB.prepare(sql).bind(...params.values).first<ItemRow>();
  if (!row) throw notFound("Voucher");
  return toItem(row, baseUrl);
}

/** Featured: vouchers an admin marked featured first, then by popularity score. */
export async function featuredVouchers({ env, baseUrl, userId }: DiscoveryDeps, limit = 10) {
  const params = new Params();
  const sql = discoverySql(params, userId, {
    select: `, ${POPULARITY_SCORE} AS popularity_score`,
    joins: `LEFT JOIN ${POPULARITY_SUBQUERY} p ON p.voucher_id = v.id`,
    orderBy: "v.is_featured DESC, popularity_score DESC, v.id DESC",
    limit,
  });
  const { results } = await env.DB.prepare(sql).bind(...params.values).all<ItemRow & { popularity_score: number }>();
  const featured = results.map((r) => ({ ...toItem(r, baseUrl), popularity_score: r.popularity_score }));
  return { featured_vouchers: featured, total_count: featured.length, message: "Featured vouchers based on popularity" };
}

/**
 * Trending: most distinct buyers with a paid purchase (not cancelled or refunded) in the last 7
 * days, the voucher's own merchant not counted; vouchers with none are left out.
 */
export async function trendingVouchers({ env, baseUrl, userId }: DiscoveryDeps, limit = 10) {
  const params = new Params();
  const since = params.add(addDays(nowIso(), -7));
  const sql = discoverySql(params, userId, {
    select: ", t.recent_purchases",
    joins: `JOIN (SELECT r.voucher_id, COUNT(DISTINCT r.user_id) AS recent_purchases FROM voucher_redemptions r ${COUNTABLE_HOLDERS}
                   AND r.purchased_at >= ${since} AND r.is_gift_voucher = 0 AND r.purchase_status NOT IN ('cancelled', 'refunded')
                   GROUP BY r.voucher_id) t ON t.voucher_id = v.id`,
    orderBy: "t.recent_purchases DESC, v.id DESC",
    limit,
  });
  const { results } = await env.DB.prepare(sql).bind(...params.values).all<ItemRow & { recent_purchases: number }>();
  const trending = results.map((r) => ({ ...toItem(r, baseUrl), recent_purchases: r.recent_purchases }));
  return {
    trending_vouchers: trending,
    total_count: trending.length,
    period: "Last 7 days",
    message: "Trending vouchers based on recent purchase activity",
  };
}
