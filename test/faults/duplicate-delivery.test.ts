// Fault: the queue delivers one message twice, and several copies at the same moment (delivery is
// at least once). Each effect happens once.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { Env } from "../../src/env";
import { QueueName } from "../../src/queues/messages";
import { createUser, walletState } from "../helpers/factories";
import { makeOffer, pendingActivation, refundsOf, txRow } from "../helpers/offer-factories";
import { outbound } from "../helpers/outbound";
import { deliverTo, expectConservation, recordingQueue } from "./helpers";

const PARTNER_URL = "https://partner.example/v1/activations";

describe("the same queue message delivered twice and concurrently", () => {
  it("an activation the partner accepts: SUCCESS once, one debit, no refund; every partner call carries the one Idempotency-Key", async () => {
    const workerEnv = { ...env, PARTNER_API_URL: PARTNER_URL, ACTIVATIONS: recordingQueue() } as unknown as Env;
    const user = await createUser({ balance: 5000 });
    const offer = await makeOffer({ price: 2000 });
    const id = await pendingActivation(user.id, offer.id);
    outbound.on(PARTNER_URL, { status: "SUCCESS" });
    const message = { type: "activation.requested", transaction_id: id };
    await Promise.all(Array.from({ length: 6 }, (_, i) => deliverTo(workerEnv, QueueName.activations, [message], { ids: [`dup-${id}`], attempts: i + 1 })));
    await deliverTo(workerEnv, QueueName.activations, [message], { ids: [`dup-${id}`], attempts: 7 });

    const row = await txRow(id);
    expect(row).toMatchObject({ status: "SUCCESS", sub_status: "active" });
    expect(await refundsOf(id)).toEqual({ n: 0, total: 0 });
    const calls = outbound.requestsTo(PARTNER_URL);
    expect(calls.length).toBeGreaterThanOrEqual(1);
    expect(new Set(calls.map((c) => c.headers["idempotency-key"]))).toEqual(new Set([id]));
    expect(await walletState(user.id)).toEqual({ balance: 3000, ledger_sum: 3000, debits: 1 });
  });

  it("an activation the partner refuses: one refund and one failure notice, however many copies run at once", async () => {
    const workerEnv = { ...env, ACTIVATIONS: recordingQueue(), NOTIFICATIONS: recordingQueue() } as unknown as Env;
    const user = await createUser({ balance: 5000 });
    const offer = await makeOffer({ price: 2000, sandboxOutcome: "fail" });
    const id = await pendingActivation(user.id, offer.id);
    const message = { type: "activation.requested", transaction_id: id };
    await Promise.all(Array.from({ length: 6 }, () => deliverTo(workerEnv, QueueName.activations, [message])));
    await Promise.all(Array.from({ length: 3 }, () => deliverTo(workerEnv, QueueName.activationsDeadLetter, [message], { attempts: 6 })));

    expect((await txRow(id))!.status).toBe("FAILED");
    expect(await refundsOf(id)).toEqual({ n: 1, total: 2000 });
    const notices = await env.DB.prepare("SELECT COUNT(*) AS n FROM notifications WHERE dedupe_key = ?").bind(`activation-failed:${id}`).first<{ n: number }>();
    expect(notices!.n).toBe(1);
    await expectConservation(user.id);
  });

  it("a notification: the provider is called once, whatever the number of copies delivered at once", async () => {
    const workerEnv = { ...env, RESEND_API_KEY: "re_test_key", EMAIL_FROM: "perks@example.test" } as unknown as Env;
    const user = await createUser({ balance: 100 });
    const id = crypto.randomUUID();
    const now = new Date().toISOString();
    await env.DB.prepare(
      "INSERT INTO notifications (id, user_id, channel, recipient, title, message, status, created_at, updated_at) VALUES (?, ?, 'email', ?, 'Hi', 'There', 'queued', ?, ?)",
    )
      .bind(id, user.id, user.email, now, now)
      .run();
    outbound.on("https://api.resend.com/emails", { id: "re_once" });
    const message = { type: "notification.deliver", notification_id: id };
    await Promise.all(Array.from({ length: 6 }, () => deliverTo(workerEnv, QueueName.notifications, [message])));
    await deliverTo(workerEnv, QueueName.notifications, [message]);

    expect(outbound.requestsTo("https://api.resend.com/emails")).toHaveLength(1);
    const row = await env.DB.prepare("SELECT status, provider_message_id FROM notifications WHERE id = ?").bind(id).first();
    expect(row).toEqual({ status: "sent", provider_message_id: "re_once" });
    await expectConservation(user.id);
  });
});
