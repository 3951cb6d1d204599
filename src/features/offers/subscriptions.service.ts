import type { SubscriptionStatus } from "../../db/schema";
import type { Env } from "../../env";
import { ApiError, ErrorCode, notFound } from "../../lib/errors";
import { uuid } from "../../lib/ids";
import { formatAmount } from "../../lib/money";
import { addDays, nowIso } from "../../lib/time";
import { notifyUser } from "../notifications/notify";
import { walletApply, walletRefused } from "../wallet/wallet.service";

export interface SubscriptionRow {
  id: number;
  user_id: number;
  reference: string;
  offer_id: number;
  offer_name: string;
  status: SubscriptionStatus;
  transaction_id: string;
  starts_at: string | null;
  ends_at: string | null;
  created_at: string;
  updated_at: string;
}

const SELECT_SUBSCRIPTION = `SELECT s.id, s.user_id, s.reference, s.offer_id, o.name AS offer_name, s.status, s.transaction_id,
  s.starts_at, s.ends_at, s.created_at, s.updated_at FROM subscriptions s JOIN offers o ON o.id = s.offer_id`;

export function toSubscription(row: SubscriptionRow) {
  return {
    id: row.id,
    reference: row.reference,
    offer_id: row.offer_id,
    offer_name: row.offer_name,
    status: row.status,
    transaction_id: row.transaction_id,
    starts_at: row.starts_at,
    ends_at: row.ends_at,
    created_at: row.created_at,
    updated_at: row.updated_at,
  };
}

export function expiryWindowDays(env: Pick<Env, "EXPIRY_NOTICE_WINDOW_DAYS">): number {
  const days = Number(env.EXPIRY_NOTICE_WINDOW_DAYS);
  return Number.isFinite(days) && days > 0 ? days : 3;
}

export async function activeSubscriptions(env: Pick<Env, "DB">, userId: number, now = nowIso()): Promise<SubscriptionRow[]> {
  const { results } = await env.DB.prepare(`${SELECT_SUBSCRIPTION} WHERE s.user_id = ? AND s.status = 'active' AND s.ends_at > ? ORDER BY s.ends_at LIMIT 200`)
    .bind(userId, now)
    .all<SubscriptionRow>();
  return results;
}

/** The caller's active subscriptions that end within the notice window, soonest first. */
export async function expiringSubscriptions(env: Pick<Env, "DB" | "EXPIRY_NOTICE_WINDOW_DAYS">, userId: number, page: { limit: number; offset: number }) {
  const now = nowIso();
  const until = addDays(now, expiryWindowDays(env));
  const where = "WHERE s.user_id = ? AND s.status = 'active' AND s.ends_at > ? AND s.ends_at <= ?";
  const [count, rows] = await env.DB.batch([
    env.DB.prepare(`SELECT COUNT(*) AS n FROM subscriptions s ${where}`).bind(userId, now, until),
    env.DB.prepare(`${SELECT_SUBSCRIPTION} ${where} ORDER BY s.ends_at, s.id LIMIT ? OFFSET ?`).bind(userId, now, until, page.limit, page.offset),
  ]);
  return { count: (count!.results[0] as { n: number }).n, rows: rows!.results as SubscriptionRow[] };
}

export async function findSubscriptionByReference(env: Pick<Env, "DB">, reference: string): Promise<SubscriptionRow | null> {
  return env.DB.prepare(`${SELECT_SUBSCRIPTION} WHERE s.reference = ?`).bind(reference).first<SubscriptionRow>();
}

/** The subscription an activation's transaction created. */
export async function findSubscriptionByTransaction(env: Pick<Env, "DB">, transactionId: string): Promise<SubscriptionRow | null> {
  return env.DB.prepare(`${SELECT_SUBSCRIPTION} WHERE s.transaction_id = ?`).bind(transactionId).first<SubscriptionRow>();
}

/**
 * Renewal debits the offer's current price and extends the subscription by its duration from its
 * end (or from now if it already ended), in one wallet batch. The extension is computed in SQL
 * from the stored end, so two renewals both extend rather than both writing the same date.
 */
export async function renewSubscription(env: Env, input: { userId: number; subscriptionId: number; idempotencyKey?: string }) {
  const sub = await env.DB.prepare(
    `SELECT s.id, s.status, s.offer_id, o.price, o.duration_days, o.is_active, o.name FROM subscriptions s JOIN offers o ON o.id = s.offer_id
      WHERE s.id = ? AND s.user_id = ?`,
  )
    .bind(input.subscriptionId, input.userId)
    .first<{ id: number; status: string; offer_id: number; price: number; duration_days: number; is_active: number; name: string }>();
  if (!sub) throw notFound("Subscription");
  if (sub.status !== "active" && sub.status !== "expired")
    throw new ApiError(409, ErrorCode.CONFLICT, "Only an active or expired subscription can be renewed.");
  if (!sub.is_active) throw new ApiError(400, ErrorCode.INACTIVE, "This offer is no longer available for renewal.");

  const now = nowIso();
  const result = await walletApply(env, {
    userId: input.userId,
    amount: -sub.price,
    kind: "debit",
    idempotencyKey: `renewal:${input.idempotencyKey ?? uuid()}`,
    note: `Renewal of subscription ${sub.id}`,
    transaction: { type: "RENEWAL", status: "SUCCESS", offerId: sub.offer_id, description: `Renewal: ${sub.name}` },
    statements: [
      {
        sql: `UPDATE subscriptions SET status = 'active', starts_at = COALESCE(starts_at, ?1),
                ends_at = strftime('%Y-%m-%dT%H:%M:%fZ', MAX(COALESCE(ends_at, ?1), ?1), '+' || ?2 || ' days'),
                expiry_notified_at = NULL, updated_at = ?1
              WHERE id = ?3 AND user_id = ?4`,
        params: [now, sub.duration_days, sub.id, input.userId],
      },
    ],
  });
  if (!result.ok) walletRefused(result, sub.price, "renewal debit");
  const row = await env.DB.prepare(`${SELECT_SUBSCRIPTION} WHERE s.id = ?`).bind(sub.id).first<SubscriptionRow>();
  return { transaction_id: result.transactionId!, status: "SUCCESS" as const, amount: formatAmount(sub.price), subscription: toSubscription(row!) };
}

/**
 * Cron: one notice per subscription and end date (dedupe key and the expiry_notified_at flag),
 * then ended subscriptions are marked expired. Run twice for the same time, it sends nothing new.
 */
export async function runSubscriptionExpiry(env: Env, at: Date) {
  const now = at.toISOString();
  const until = addDays(now, expiryWindowDays(env));
  const { results } = await env.DB.prepare(
    `${SELECT_SUBSCRIPTION} WHERE s.status = 'active' AND s.expiry_notified_at IS NULL AND s.ends_at > ? AND s.ends_at <= ? ORDER BY s.ends_at LIMIT 500`,
  )
    .bind(now, until)
    .all<SubscriptionRow>();
  let notified = 0;
  for (const sub of results) {
    // Notice first (idempotent by its key), flag second: a crash between them repeats nothing.
    const sent = await notifyUser(env, sub.user_id, {
      title: "Your offer is about to expire",
      message: `"${sub.offer_name}" (${sub.reference}) ends on ${sub.ends_at}. Renew it to keep it active.`,
      category: "transactional",
      dedupeKey: `subscription-expiry:${sub.id}:${sub.ends_at}`,
    });
    if (sent && !sent.duplicate) notified++;
    await env.DB.prepare("UPDATE subscriptions SET expiry_notified_at = ? WHERE id = ? AND expiry_notified_at IS NULL").bind(now, sub.id).run();
  }
  const expired = await env.DB.prepare("UPDATE subscriptions SET status = 'expired', updated_at = ? WHERE status = 'active' AND ends_at <= ?")
    .bind(now, now)
    .run();
  return { notified, expired: expired.meta.changes };
}
