// Fault: the same cron tick runs twice, one after the other and at the same time (a retried
// trigger, an overlap). Every job is idempotent: each notice once, each refund once, each
// stranded activation activated once.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { Env } from "../../src/env";
import { QueueName } from "../../src/queues/messages";
import { createUser } from "../helpers/factories";
import { makeOffer, pendingActivation, refundsOf, txRow } from "../helpers/offer-factories";
import { call, deliverTo, expectConservation, quietly, recordingQueue, tick } from "./helpers";

async function age(id: string, minutes: number) {
  const then = new Date(Date.now() - minutes * 60_000).toISOString();
  await env.DB.prepare("UPDATE transactions SET created_at = ?, updated_at = ? WHERE id = ?").bind(then, then, id).run();
}

describe("the same cron run twice", () => {
  it("sequentially and concurrently: one expiry notice, one refund for an abandoned activation, a stranded activation activated once", async () => {
    const activations = recordingQueue<{ type: string; transaction_id: string }>();
    const notifications = recordingQueue<{ type: string; notification_id: string }>();
    const workerEnv = { ...env, ACTIVATIONS: activations, NOTIFICATIONS: notifications } as unknown as Env;
    const user = await createUser({ balance: 10_000 });
    const offer = await makeOffer({ price: 2000 });

    // An active subscription ending tomorrow (the expiry notice job).
    const active = await pendingActivation(user.id, offer.id);
    await deliverTo(workerEnv, QueueName.activations, [{ type: "activation.requested", transaction_id: active }]);
    await env.DB.prepare("UPDATE subscriptions SET ends_at = ? WHERE transaction_id = ?").bind(new Date(Date.now() + 86_400_000).toISOString(), active).run();
    // An activation pending for a day (fail and refund once).
    const abandoned = await pendingActivation(user.id, offer.id);
    await age(abandoned, 25 * 60);
    // An activation whose queue send failed (the outbox relay).
    activations.failing = true;
    const { result: stranded } = await quietly(() => call(workerEnv, "POST", "/api/v1/activation/", { token: user.token, body: { offer_id: offer.id } }));
    activations.failing = false;
    const strandedId = stranded.body.transaction_id as string;
    await env.DB.prepare("UPDATE activation_outbox SET created_at = ? WHERE transaction_id = ?").bind(new Date(Date.now() - 5 * 60_000).toISOString(), strandedId).run();

    const at = new Date();
    await quietly(() => tick(workerEnv, at));
    await quietly(() => tick(workerEnv, at));
    await quietly(() => Promise.all([tick(workerEnv, at), tick(workerEnv, at)]));

    const notices = await env.DB.prepare("SELECT COUNT(*) AS n FROM notifications WHERE user_id = ? AND dedupe_key LIKE 'subscription-expiry:%'").bind(user.id).first<{ n: number }>();
    expect(notices!.n).toBe(1);
    expect(await refundsOf(abandoned)).toEqual({ n: 1, total: 2000 });
    const failureNotices = await env.DB.prepare("SELECT COUNT(*) AS n FROM notifications WHERE dedupe_key = ?").bind(`activation-failed:${abandoned}`).first<{ n: number }>();
    expect(failureNotices!.n).toBe(1);

    // However many relays sent it, the activation happens once: deliver every copy, at once.
    const copies = activations.sent.filter((m) => m.type === "activation.requested" && m.transaction_id === strandedId);
    expect(copies.length).toBeGreaterThanOrEqual(1);
    await Promise.all(copies.map((m) => deliverTo(workerEnv, QueueName.activations, [m])));
    expect((await txRow(strandedId))!.status).toBe("SUCCESS");
    expect(await refundsOf(strandedId)).toEqual({ n: 0, total: 0 });
    await expectConservation(user.id);
  });
});
