import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { Env } from "../../../src/env";
import { ABANDONED_REASON, sweepPendingActivations } from "../../../src/features/activation/activation.sweep";
import { createUser, walletState } from "../../helpers/factories";
import { makeOffer, pendingActivation, quietEnv, refundsOf, txRow } from "../../helpers/offer-factories";

/** Moves a transaction's clock back, as if it had been created `minutes` ago and never touched. */
async function age(id: string, minutes: number) {
  const then = new Date(Date.now() - minutes * 60_000).toISOString();
  await env.DB.prepare("UPDATE transactions SET created_at = ?, updated_at = ? WHERE id = ?").bind(then, then, id).run();
}

describe("pending activation sweep (cron)", () => {
  it("re-sends a stale pending activation's message and fails and refunds an abandoned one once", async () => {
    const user = await createUser({ balance: 10_000 });
    const offer = await makeOffer({ price: 2000 });
    const stale = await pendingActivation(user.id, offer.id);
    const abandoned = await pendingActivation(user.id, offer.id);
    const fresh = await pendingActivation(user.id, offer.id);
    await age(stale, 20);
    await age(abandoned, 25 * 60);

    const sent: unknown[] = [];
    const recording = quietEnv({ ACTIVATIONS: { send: async () => undefined, sendBatch: async (batch: unknown[]) => void sent.push(...batch) } } as unknown as Partial<Env>);
    const at = new Date();
    await sweepPendingActivations(recording, at);
    await sweepPendingActivations(recording, at);

    const bodies = sent.map((m) => (m as { body: { type: string; transaction_id: string } }).body);
    const resent = bodies.filter((b) => b.type === "activation.requested").map((b) => b.transaction_id);
    // The abandoned one is failed here and the partner told to cancel it (it may have provisioned it).
    expect(bodies.filter((b) => b.type === "activation.cancel").map((b) => b.transaction_id)).toEqual([abandoned]);
    expect(resent).toContain(stale);
    expect(resent).not.toContain(fresh);
    expect(resent).not.toContain(abandoned);
    expect(await txRow(abandoned)).toMatchObject({ status: "FAILED", failure_reason: ABANDONED_REASON });
    expect(await refundsOf(abandoned)).toEqual({ n: 1, total: 2000 });
    expect((await txRow(stale))!.status).toBe("PENDING");
    expect(await walletState(user.id)).toEqual({ balance: 6000, ledger_sum: 6000, debits: 3 });
  });
});
