import type { Env } from "../../env";
import { nowIso } from "../../lib/time";
import { backoffSeconds } from "../../queues/consumers";
import type { ActivationMessage } from "../../queues/messages";
import { cancelWithPartner } from "../partner/partner.client";

/**
 * An activation we failed and refunded may still have been provisioned by the partner (it
 * answered late, or never answered at all). The partner is then told to cancel it: the request is
 * recorded on the transaction (`partner_cancel_requested_at`), a signed cancel call is made from
 * the activation queue and retried until the partner acknowledges it
 * (`partner_cancel_acknowledged_at`); the sweep re-sends requests still unacknowledged.
 */
export const CANCEL_REASON = "The activation failed and its price was refunded to the user.";

/** Marks the cancel as requested (once) and queues the call. Returns whether a cancel is outstanding. */
export async function requestPartnerCancel(env: Env, transactionId: string): Promise<boolean> {
  const marked = await env.DB.prepare(
    `UPDATE transactions SET partner_cancel_requested_at = COALESCE(partner_cancel_requested_at, ?)
      WHERE id = ? AND type = 'ACTIVATION' AND status = 'FAILED' AND partner_cancel_acknowledged_at IS NULL`,
  )
    .bind(nowIso(), transactionId)
    .run();
  if (marked.meta.changes === 0) return false;
  await queueCancels(env, [transactionId]);
  return true;
}

/** Best effort: a cancel whose message is not queued is re-sent by the sweep. */
export async function queueCancels(env: Env, ids: string[]): Promise<number> {
  if (ids.length === 0) return 0;
  try {
    await env.ACTIVATIONS.sendBatch(ids.map((id) => ({ body: { type: "activation.cancel" as const, transaction_id: id } })));
    return ids.length;
  } catch (error) {
    console.error(JSON.stringify({ level: "error", msg: "partner cancel not queued; the sweep will re-send it", transaction_ids: ids, error: String(error) }));
    return 0;
  }
}

/** Queue consumer side: calls the partner; acknowledged is recorded, anything else retries with backoff. */
export async function handleCancelMessage(message: Message<ActivationMessage>, env: Env): Promise<void> {
  const tx = await env.DB.prepare(
    `SELECT t.id, s.reference, t.partner_cancel_acknowledged_at FROM transactions t JOIN subscriptions s ON s.transaction_id = t.id
      WHERE t.id = ? AND t.status = 'FAILED' AND t.partner_cancel_requested_at IS NOT NULL`,
  )
    .bind(message.body.transaction_id)
    .first<{ id: string; reference: string; partner_cancel_acknowledged_at: string | null }>();
  if (!tx || tx.partner_cancel_acknowledged_at) return message.ack();

  const answer = await cancelWithPartner(env, tx, CANCEL_REASON);
  const now = nowIso();
  await env.DB.prepare(
    `UPDATE transactions SET partner_cancel_attempts = partner_cancel_attempts + 1,
        partner_cancel_acknowledged_at = CASE WHEN ? THEN COALESCE(partner_cancel_acknowledged_at, ?) ELSE partner_cancel_acknowledged_at END
      WHERE id = ?`,
  )
    .bind(answer.acknowledged ? 1 : 0, now, tx.id)
    .run();
  if (answer.acknowledged) return message.ack();
  console.warn(JSON.stringify({ level: "warn", msg: "partner cancel retry", transaction_id: tx.id, attempts: message.attempts, reason: answer.reason }));
  message.retry({ delaySeconds: backoffSeconds(message.attempts) });
}

/** A cancel requested this long ago and still unacknowledged is sent again by the sweep. */
export const RESEND_CANCEL_AFTER_MINUTES = 15;

/** Cron: cancels requested but not acknowledged (their messages ran out of retries, or never got queued). */
export async function resendUnacknowledgedCancels(env: Env, at: Date): Promise<number> {
  const before = new Date(at.getTime() - RESEND_CANCEL_AFTER_MINUTES * 60_000).toISOString();
  const { results } = await env.DB.prepare(
    `SELECT id FROM transactions WHERE partner_cancel_requested_at IS NOT NULL AND partner_cancel_acknowledged_at IS NULL
        AND partner_cancel_requested_at < ? ORDER BY partner_cancel_requested_at LIMIT 100`,
  )
    .bind(before)
    .all<{ id: string }>();
  return queueCancels(env, results.map((r) => r.id));
}
