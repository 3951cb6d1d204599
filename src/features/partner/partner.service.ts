import { and, eq } from "drizzle-orm";
import { createDb } from "../../db/client";
import { users } from "../../db/schema";
import type { Env } from "../../env";
import { notFound } from "../../lib/errors";
import { referenceCode, uuid } from "../../lib/ids";
import { formatAmount } from "../../lib/money";
import { addDays, nowIso } from "../../lib/time";
import { walletApply, walletRefused } from "../wallet/wallet.service";
import { getOffer } from "../offers/offers.service";
import { findSubscriptionByReference, findSubscriptionByTransaction, toSubscription } from "../offers/subscriptions.service";

/**
 * Partner-initiated activation: the partner has already provisioned the offer on its side (the
 * user bought it at the partner, paying with their balance here). The debit, a SUCCESS
 * transaction and an active subscription commit together; the partner's `reference` is the
 * wallet idempotency key, so a repeated call replays the first result.
 */
export async function partnerActivate(env: Env, input: { user_id: number; offer_id: number; reference: string }) {
  const user = await createDb(env.DB).query.users.findFirst({ where: and(eq(users.id, input.user_id), eq(users.isActive, true)), columns: { id: true } });
  if (!user) throw notFound("User");
  const offer = await getOffer(env, input.offer_id);
  const transactionId = uuid();
  const now = nowIso();
  const result = await walletApply(env, {
    userId: input.user_id,
    amount: -offer.price,
    kind: "debit",
    idempotencyKey: `partner-activation:${input.reference}`,
    note: `Partner activation of offer ${offer.id}`,
    transaction: { id: transactionId, type: "ACTIVATION", status: "SUCCESS", offerId: offer.id, reference: input.reference, description: `Activation: ${offer.name}` },
    statements: [
      {
        sql: "INSERT INTO subscriptions (user_id, offer_id, transaction_id, reference, status, starts_at, ends_at, created_at, updated_at) VALUES (?, ?, ?, ?, 'active', ?, ?, ?, ?)",
        params: [input.user_id, offer.id, transactionId, referenceCode("SUB", 10), now, addDays(now, offer.durationDays), now, now],
      },
    ],
  });
  if (!result.ok) walletRefused(result, offer.price, "partner activation");
  const sub = await findSubscriptionByTransaction(env, result.transactionId!);
  return {
    replayed: result.replayed,
    body: { transaction_id: result.transactionId!, status: "SUCCESS" as const, amount: formatAmount(offer.price), reference: input.reference, subscription: toSubscription(sub!) },
  };
}

/** Whether a subscription reference is currently valid (active and not yet ended). */
export async function validateReference(env: Env, reference: string) {
  const sub = await findSubscriptionByReference(env, reference);
  if (!sub) throw notFound("Subscription");
  const valid = sub.status === "active" && !!sub.ends_at && sub.ends_at > nowIso();
  return {
    reference: sub.reference,
    valid,
    status: sub.status,
    user_id: sub.user_id,
    offer_id: sub.offer_id,
    offer_name: sub.offer_name,
    transaction_id: sub.transaction_id,
    starts_at: sub.starts_at,
    ends_at: sub.ends_at,
  };
}
