import type { Env } from "../../env";
import { partnerActivationState } from "../partner/partner.client";
import { completeActivation, loadActivation } from "./activation.service";
import { resendUnacknowledgedCancels } from "./partner-cancel";
import { type CachedTransaction, refreshSettled } from "./transaction-cache";

/** A pending activation untouched this long has lost its message or awaits a partner callback. */
export const REQUEUE_AFTER_MINUTES = 15;
/** A partner that has neither answered nor called back within this long will not: fail and refund. */
export const ABANDON_AFTER_HOURS = 24;
export const ABANDONED_REASON = "The partner did not confirm the activation within 24 hours.";
/** Activations settled this recently get their Redis hash rewritten by every sweep (two sweep periods). */
export const REFRESH_SETTLED_MINUTES = 30;

/** Partner state queries run this many at a time. */
const QUERY_CONCURRENCY = 10;

/**
 * Cron safety net for invariant 6. For an activation pending past REQUEUE_AFTER_MINUTES the
 * partner is asked for its state rather than sent the request again blindly: finished there, it
 * is completed here; never received, it is sent again (same Idempotency-Key); still pending
 * there, it waits. One pending a day is failed and refunded, once, and the partner told to
 * cancel it. Cancels the partner has not acknowledged are sent again.
 */
export async function sweepPendingActivations(env: Env, at: Date) {
  const requeueBefore = new Date(at.getTime() - REQUEUE_AFTER_MINUTES * 60_000).toISOString();
  const abandonBefore = new Date(at.getTime() - ABANDON_AFTER_HOURS * 3_600_000).toISOString();
  const [abandoned, stale] = await env.DB.batch<{ id: string }>([
    env.DB.prepare("SELECT id FROM transactions WHERE type = 'ACTIVATION' AND status = 'PENDING' AND created_at < ? LIMIT 100").bind(abandonBefore),
    env.DB.prepare("SELECT id FROM transactions WHERE type = 'ACTIVATION' AND status = 'PENDING' AND created_at >= ? AND updated_at < ? LIMIT 100").bind(
      abandonBefore,
      requeueBefore,
    ),
  ]);
  let failed = 0;
  for (const { id } of abandoned!.results)
    if ((await completeActivation(env, id, { status: "FAILED", reason: ABANDONED_REASON, cancelAtPartner: true })).applied) failed++;

  const outcome = { completed: 0, waiting: 0, unreachable: 0 };
  const requeue: string[] = [];
  const ids = stale!.results.map((r) => r.id);
  for (let i = 0; i < ids.length; i += QUERY_CONCURRENCY) {
    await Promise.all(
      ids.slice(i, i + QUERY_CONCURRENCY).map(async (id) => {
        const tx = await loadActivation(env.DB, id);
        if (!tx || tx.status !== "PENDING") return;
        const state = await partnerActivationState(env, tx);
        if (state.kind === "unknown") requeue.push(id);
        else if (state.kind === "PENDING") outcome.waiting++;
        else if (state.kind === "error") outcome.unreachable++;
        else if ((await completeActivation(env, id, state.kind === "SUCCESS" ? { status: "SUCCESS" } : { status: "FAILED", reason: state.reason })).applied)
          outcome.completed++;
      }),
    );
  }
  if (requeue.length > 0) await env.ACTIVATIONS.sendBatch(requeue.map((id) => ({ body: { type: "activation.requested" as const, transaction_id: id } })));
  return { failed, requeued: requeue.length, ...outcome, cancels_resent: await resendUnacknowledgedCancels(env, at), refreshed: await refreshSettledHashes(env, at) };
}

/**
 * A final status whose hash write was lost (Redis unreachable when the callback or consumer
 * finished) is written again here, so a hash never says PENDING for a settled activation for
 * longer than its TTL or one sweep period, whichever ends first.
 */
async function refreshSettledHashes(env: Env, at: Date): Promise<number> {
  const since = new Date(at.getTime() - REFRESH_SETTLED_MINUTES * 60_000).toISOString();
  const { results } = await env.DB.prepare(
    "SELECT id, user_id, status, amount, offer_id, created_at, updated_at FROM transactions WHERE type = 'ACTIVATION' AND status != 'PENDING' AND updated_at >= ? ORDER BY updated_at DESC LIMIT 500",
  )
    .bind(since)
    .all<CachedTransaction>();
  return refreshSettled(env, results);
}
