// Fault: D1 refuses a batch part-way (a statement in the middle fails). A batch is D1's
// transaction: nothing of it may stay behind, the client gets a clean error, and a retry works.
// The refusal is a real trigger installed for the test and dropped after it.
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import type { Env } from "../../src/env";
import { QueueName } from "../../src/queues/messages";
import { isCleanError } from "../helpers/api";
import { createUser, walletState } from "../helpers/factories";
import { makeOffer, pendingActivation, refundsOf, txRow } from "../helpers/offer-factories";
import { call, deliverTo, expectConservation, quietly, recordingQueue } from "./helpers";

const refuse = (name: string, table: string, when = "1") =>
  env.DB.prepare(`CREATE TRIGGER ${name} BEFORE INSERT ON ${table} WHEN ${when} BEGIN SELECT RAISE(ABORT, 'fault_injected'); END`).run();

afterEach(async () => {
  await env.DB.prepare("DROP TRIGGER IF EXISTS fault_subscriptions").run();
  await env.DB.prepare("DROP TRIGGER IF EXISTS fault_refunds").run();
});

describe("a D1 batch refused mid-operation", () => {
  it("an activation whose batch fails after the debit statement: 500 in the one shape, nothing debited or recorded; the same Idempotency-Key then works, once", async () => {
    const workerEnv = { ...env, ACTIVATIONS: recordingQueue() } as unknown as Env;
    const user = await createUser({ balance: 5000 });
    const offer = await makeOffer({ price: 2000 });
    const key = `key-${crypto.randomUUID()}`;
    const request = () => call(workerEnv, "POST", "/api/v1/activation/", { token: user.token, body: { offer_id: offer.id }, headers: { "idempotency-key": key } });

    await refuse("fault_subscriptions", "subscriptions");
    const { result: refused } = await quietly(request);
    expect(refused.status).toBe(500);
    expect(isCleanError(refused.body)).toBe(true);
    expect(await walletState(user.id)).toEqual({ balance: 5000, ledger_sum: 5000, debits: 0 });
    const leftovers = await env.DB.prepare(
      "SELECT (SELECT COUNT(*) FROM transactions WHERE user_id = ?1) AS txs, (SELECT COUNT(*) FROM activation_outbox o JOIN transactions t ON t.id = o.transaction_id WHERE t.user_id = ?1) AS outbox",
    )
      .bind(user.id)
      .first();
    expect(leftovers).toEqual({ txs: 0, outbox: 0 });

    await env.DB.prepare("DROP TRIGGER fault_subscriptions").run();
    const retried = await request();
    expect(retried.status).toBe(202);
    const again = await request();
    expect(again.body).toEqual(retried.body);
    expect(await walletState(user.id)).toEqual({ balance: 3000, ledger_sum: 3000, debits: 1 });
    await expectConservation(user.id);
  });

  it("a refund batch refused: the activation stays PENDING with no refund, the message is retried, and the redelivery refunds exactly once", async () => {
    const workerEnv = { ...env, ACTIVATIONS: recordingQueue(), NOTIFICATIONS: recordingQueue() } as unknown as Env;
    const user = await createUser({ balance: 5000 });
    const offer = await makeOffer({ price: 2000, sandboxOutcome: "fail" });
    const id = await pendingActivation(user.id, offer.id);
    const message = { type: "activation.requested", transaction_id: id };

    await refuse("fault_refunds", "ledger_entries", "NEW.kind = 'refund'");
    const { result: first } = await quietly(() => deliverTo(workerEnv, QueueName.activations, [message], { attempts: 1 }));
    expect(first.retryMessages).toHaveLength(1);
    expect(first.explicitAcks).toHaveLength(0);
    expect(await txRow(id)).toMatchObject({ status: "PENDING", sub_status: "pending" });
    expect(await refundsOf(id)).toEqual({ n: 0, total: 0 });

    await env.DB.prepare("DROP TRIGGER fault_refunds").run();
    await deliverTo(workerEnv, QueueName.activations, [message], { attempts: 2 });
    await deliverTo(workerEnv, QueueName.activations, [message], { attempts: 3 });
    expect(await txRow(id)).toMatchObject({ status: "FAILED", sub_status: "failed" });
    expect(await refundsOf(id)).toEqual({ n: 1, total: 2000 });
    expect(await walletState(user.id)).toEqual({ balance: 5000, ledger_sum: 5000, debits: 1 });
    await expectConservation(user.id);
  });
});
