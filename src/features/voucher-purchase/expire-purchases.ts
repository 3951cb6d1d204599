import type { Env } from "../../env";

/**
 * Purchases past their expiry date become `expired`. One UPDATE, so a second run for the same
 * time finds nothing left to change. Expired purchases can be neither redeemed nor refunded.
 */
export async function expirePurchases(env: Pick<Env, "DB">, at: Date) {
  const now = at.toISOString();
  const result = await env.DB.prepare(
    "UPDATE voucher_redemptions SET purchase_status = 'expired', status_changed_at = ?1, updated_at = ?1 WHERE purchase_status = 'purchased' AND expiry_date <= ?1",
  )
    .bind(now)
    .run();
  return { expired: result.meta.changes };
}
