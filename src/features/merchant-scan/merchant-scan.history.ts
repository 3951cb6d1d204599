import { z } from "@hono/zod-openapi";
import type { Env } from "../../env";
import { pageWindow, paginated, PaginatedSchema, PaginationQuery, type Pagination } from "../../lib/pagination";
import { notAMerchant } from "./merchant-access";
import { holderName } from "./merchant-scan.lookup";

export const RedemptionsQuery = PaginationQuery.extend({
  since: z.iso
    .datetime({ offset: true })
    .optional()
    .openapi({ example: "2026-12-01T00:00:00+05:30", description: "Redemptions at or after this instant; default the start of the current UTC day. A till sends its own local midnight." }),
  location: z.string().trim().max(200).optional().openapi({ example: "Main Store", description: "Only redemptions recorded at this location (exact match)" }),
});

export const RedemptionEvent = z
  .object({
    transaction_id: z.string().openapi({ example: "RDM-456-20261201093012-0A1B2C3" }),
    redeemed_at: z.string(),
    quantity: z.number().int(),
    remaining_after: z.number().int(),
    location: z.string(),
    notes: z.string(),
    redemption_id: z.number().int(),
    purchase_reference: z.string(),
    voucher_title: z.string(),
    user_name: z.string().openapi({ description: "The voucher's holder" }),
    redeemed_by: z.string().openapi({ description: "Username of the account that redeemed it" }),
  })
  .openapi("RedemptionEvent");
export const RedemptionEventPage = PaginatedSchema(RedemptionEvent).openapi("RedemptionEventPage");

interface EventRow {
  transaction_id: string;
  redeemed_at: string;
  quantity: number;
  remaining_after: number;
  location: string;
  notes: string;
  redemption_id: number;
  purchase_reference: string;
  voucher_title: string;
  first_name: string;
  last_name: string;
  username: string;
  redeemed_by: string;
}

/** The start of the current UTC day, as stored timestamps are written (ISO 8601, UTC). */
const startOfUtcDay = (now = new Date()) => `${now.toISOString().slice(0, 10)}T00:00:00.000Z`;

/**
 * The caller's own business's redemptions, newest first. One D1 round trip: a batch of the
 * profile with the count, and the page. An inactive merchant profile may still read its history.
 */
export async function listRedemptions(env: Pick<Env, "DB">, userId: number, requestUrl: string, query: Pagination & { since?: string; location?: string }) {
  const since = query.since ? new Date(query.since).toISOString() : startOfUtcDay();
  const location = query.location ?? null;
  const { limit, offset } = pageWindow(query);
  const match = "e.created_at >= ?2 AND (?3 IS NULL OR e.location = ?3)";
  const [profile, page] = await env.DB.batch<Record<string, unknown>>([
    env.DB.prepare(`SELECT me.id, (SELECT COUNT(*) FROM redemption_events e WHERE e.merchant_id = me.id AND ${match}) AS total FROM merchants me WHERE me.user_id = ?1`).bind(
      userId,
      since,
      location,
    ),
    env.DB.prepare(
      `SELECT e.reference AS transaction_id, e.created_at AS redeemed_at, e.quantity, e.remaining_after, e.location, e.notes,
              e.redemption_id, r.purchase_reference, v.title AS voucher_title, u.first_name, u.last_name, u.username, op.username AS redeemed_by
         FROM merchants me
         JOIN redemption_events e ON e.merchant_id = me.id
         JOIN voucher_redemptions r ON r.id = e.redemption_id
         JOIN vouchers v ON v.id = r.voucher_id
         JOIN users u ON u.id = r.user_id
         JOIN users op ON op.id = e.redeemed_by
        WHERE me.user_id = ?1 AND ${match}
        ORDER BY e.created_at DESC, e.id DESC
        LIMIT ?4 OFFSET ?5`,
    ).bind(userId, since, location, limit, offset),
  ]);
  const merchant = profile!.results[0] as { id: number; total: number } | undefined;
  if (!merchant) throw notAMerchant();
  const rows = page!.results as unknown as EventRow[];
  return paginated(
    requestUrl,
    query,
    merchant.total,
    rows.map((row) => ({
      transaction_id: row.transaction_id,
      redeemed_at: row.redeemed_at,
      quantity: row.quantity,
      remaining_after: row.remaining_after,
      location: row.location,
      notes: row.notes,
      redemption_id: row.redemption_id,
      purchase_reference: row.purchase_reference,
      voucher_title: row.voucher_title,
      user_name: holderName(row),
      redeemed_by: row.redeemed_by,
    })),
  );
}
