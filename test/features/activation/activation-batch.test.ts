// The activations queue's consumer works a whole batch: one read for all its transactions, the
// partner steps side by side, one D1 batch for all the successes; each message still gets its
// own outcome (ack or retry), and each transaction is completed and refunded at most once.
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import type { Env } from "../../../src/env";
import { hashFields } from "../../../src/features/activation/transaction-cache";
import { getRedis } from "../../../src/lib/redis";
import { QueueName } from "../../../src/queues/messages";
import { outbound } from "../../helpers/outbound";
import { createUser, walletState } from "../../helpers/factories";
import { makeOffer, pendingActivation, quietEnv, refundsOf, txRow } from "../../helpers/offer-factories";
import { deliverTo, expectConservation, quietly, recordingQueue } from "../../faults/helpers";

const PARTNER_URL = "https://partner.example/v1/activations";
const workerEnv = () => quietEnv({ PARTNER_API_URL: PARTNER_URL, NOTIFICATIONS: recordingQueue() } as unknown as Partial<Env>);
const request = (id: string) => ({ type: "activation.requested", transaction_id: id });

/** The partner answers each transaction as `answers` says (by the transaction id in the body). */
function partnerAnswers(answers: Record<string, () => Response>) {
  outbound.on(PARTNER_URL, (sent) => answers[JSON.parse(sent.body).transaction_id]!());
}
const success = () => Response.json({ status: "SUCCESS", partner_reference: "P-1" });
const refusal = () => new Response(JSON.stringify({ reason: "subscriber not eligible" }), { status: 422 });
const down = () => new Response("upstream down", { status: 503 });

const hashStatus = async (id: string) => hashFields(await getRedis(env)!.hgetall(`transaction:${id}`))?.status;

afterEach(async () => {
  await env.DB.prepare("DROP TRIGGER IF EXISTS fault_success").run();
  await env.DB.prepare("DROP TRIGGER IF EXISTS fault_refund").run();
});

describe("activation consumer, a whole batch", () => {
  it("mixes success, refusal, partner retry, an already settled transaction and a duplicate: each message its own outcome, each transaction once", async () => {
    const user = await createUser({ balance: 10_000 });
    const offer = await makeOffer({ price: 1000, durationDays: 30 });
    const [ok, refused, retried, settled, twin] = [
      await pendingActivation(user.id, offer.id),
      await pendingActivation(user.id, offer.id),
      await pendingActivation(user.id, offer.id),
      await pendingActivation(user.id, offer.id),
      await pendingActivation(user.id, offer.id),
    ];
    partnerAnswers({ [ok]: success, [refused]: refusal, [retried]: down, [settled]: success, [twin]: success });
    // Already SUCCESS before this batch: acked untouched, the partner not asked.
    await deliverTo(workerEnv(), QueueName.activations, [request(settled)]);
    expect(outbound.requestsTo(PARTNER_URL)).toHaveLength(1);
    const settledAt = await env.DB.prepare("SELECT updated_at FROM transactions WHERE id = ?").bind(settled).first();

    const ids = ["m-ok", "m-refused", "m-retried", "m-settled", "m-twin-1", "m-twin-2"];
    const { result } = await quietly(() =>
      deliverTo(workerEnv(), QueueName.activations, [request(ok), request(refused), request(retried), request(settled), request(twin), request(twin)], { ids }),
    );
    expect(result.explicitAcks.sort()).toEqual(["m-ok", "m-refused", "m-settled", "m-twin-1", "m-twin-2"].sort());
    expect(result.retryMessages.map((m) => m.msgId)).toEqual(["m-retried"]);
    expect(result.retryDelays).toEqual([2]);
    // The partner was asked once for each transaction still pending, the twin included.
    expect(outbound.requestsTo(PARTNER_URL)).toHaveLength(1 + 4);

    expect(await txRow(ok)).toMatchObject({ status: "SUCCESS", sub_status: "active" });
    expect(await txRow(twin)).toMatchObject({ status: "SUCCESS", sub_status: "active" });
    const row = (await txRow(ok))!;
    expect(new Date(row.ends_at!).getTime() - new Date(row.starts_at!).getTime()).toBe(30 * 86_400_000);
    expect(await txRow(refused)).toMatchObject({ status: "FAILED", sub_status: "failed" });
    expect(await txRow(retried)).toMatchObject({ status: "PENDING", sub_status: "pending" });
    expect(await env.DB.prepare("SELECT updated_at FROM transactions WHERE id = ?").bind(settled).first()).toEqual(settledAt);
    expect(await refundsOf(refused)).toEqual({ n: 1, total: 1000 });
    for (const id of [ok, twin, settled, retried]) expect(await refundsOf(id)).toEqual({ n: 0, total: 0 });
    expect([await hashStatus(ok), await hashStatus(twin), await hashStatus(refused), await hashStatus(retried)]).toEqual(["SUCCESS", "SUCCESS", "FAILED", "PENDING"]);
    // Every outbox row of the batch went with the one read.
    const outbox = await env.DB.prepare("SELECT COUNT(*) AS n FROM activation_outbox WHERE transaction_id IN (?, ?, ?, ?, ?)").bind(ok, refused, retried, settled, twin).first();
    expect(outbox).toEqual({ n: 0 });
    // Four debits, one refund.
    expect(await walletState(user.id)).toEqual({ balance: 10_000 - 4000, ledger_sum: 10_000 - 4000, debits: 5 });
  });

  it("two copies of one batch at once: every transaction completed or refunded exactly once, and the money adds up", async () => {
    const users = [await createUser({ balance: 10_000 }), await createUser({ balance: 10_000 })];
    const offer = await makeOffer({ price: 1000 });
    const answers: Record<string, () => Response> = {};
    const ids: string[] = [];
    for (let i = 0; i < 8; i++) {
      const id = await pendingActivation(users[i % 2]!.id, offer.id);
      answers[id] = i % 3 === 0 ? refusal : success;
      ids.push(id);
    }
    partnerAnswers(answers);
    const bodies = ids.map(request);
    const results = await quietly(() => Promise.all([deliverTo(workerEnv(), QueueName.activations, bodies), deliverTo(workerEnv(), QueueName.activations, bodies)]));
    for (const copy of results.result) {
      expect(copy.retryMessages).toHaveLength(0);
      expect(copy.explicitAcks).toHaveLength(ids.length);
    }
    for (const id of ids) {
      const refusedOne = answers[id] === refusal;
      expect(await txRow(id)).toMatchObject(refusedOne ? { status: "FAILED", sub_status: "failed" } : { status: "SUCCESS", sub_status: "active" });
      expect(await refundsOf(id)).toEqual(refusedOne ? { n: 1, total: 1000 } : { n: 0, total: 0 });
      expect(await hashStatus(id)).toBe(refusedOne ? "FAILED" : "SUCCESS");
    }
    await expectConservation(...users.map((u) => u.id));
    // Three of the eight refused (0, 3, 6): two to the first user, one to the second.
    expect((await walletState(users[0]!.id)).balance).toBe(10_000 - 4000 + 2000);
    expect((await walletState(users[1]!.id)).balance).toBe(10_000 - 4000 + 1000);
  });

  it("the successes' batch refused: each success is completed on its own, and only the one D1 refuses is retried", async () => {
    const user = await createUser({ balance: 10_000 });
    const offer = await makeOffer({ price: 1000 });
    const [a, b, poisoned] = [await pendingActivation(user.id, offer.id), await pendingActivation(user.id, offer.id), await pendingActivation(user.id, offer.id)];
    partnerAnswers({ [a]: success, [b]: success, [poisoned]: success });
    // A real trigger refusing one transaction's activation: the batch of all three is one D1 transaction, so it fails whole.
    await env.DB.prepare(
      `CREATE TRIGGER fault_success BEFORE UPDATE OF status ON subscriptions WHEN NEW.status = 'active' AND NEW.transaction_id = '${poisoned}' BEGIN SELECT RAISE(ABORT, 'fault_injected'); END`,
    ).run();
    const { result, logs } = await quietly(() => deliverTo(workerEnv(), QueueName.activations, [request(a), request(b), request(poisoned)], { ids: ["m-a", "m-b", "m-p"] }));
    expect(logs.some((line) => line.includes("completing one by one"))).toBe(true);
    expect(result.explicitAcks.sort()).toEqual(["m-a", "m-b"]);
    expect(result.retryMessages.map((m) => m.msgId)).toEqual(["m-p"]);
    expect(await txRow(a)).toMatchObject({ status: "SUCCESS", sub_status: "active" });
    expect(await txRow(b)).toMatchObject({ status: "SUCCESS", sub_status: "active" });
    expect(await txRow(poisoned)).toMatchObject({ status: "PENDING", sub_status: "pending" });
    expect([await hashStatus(a), await hashStatus(b)]).toEqual(["SUCCESS", "SUCCESS"]);

    // The redelivery, with D1 healthy again, completes it.
    await env.DB.prepare("DROP TRIGGER fault_success").run();
    const again = await deliverTo(workerEnv(), QueueName.activations, [request(poisoned)]);
    expect(again.explicitAcks).toHaveLength(1);
    expect(await txRow(poisoned)).toMatchObject({ status: "SUCCESS", sub_status: "active" });
    expect(await walletState(user.id)).toEqual({ balance: 7000, ledger_sum: 7000, debits: 3 });
  });

  it("one refusal's refund refused by D1: only that message is retried, the next refusal in the batch is still refunded", async () => {
    const user = await createUser({ balance: 10_000 });
    const offer = await makeOffer({ price: 1000 });
    const [stuck, next] = [await pendingActivation(user.id, offer.id), await pendingActivation(user.id, offer.id)];
    partnerAnswers({ [stuck]: refusal, [next]: refusal });
    await env.DB.prepare(
      `CREATE TRIGGER fault_refund BEFORE INSERT ON ledger_entries WHEN NEW.kind = 'refund' AND NEW.transaction_id = '${stuck}' BEGIN SELECT RAISE(ABORT, 'fault_injected'); END`,
    ).run();
    const { result } = await quietly(() => deliverTo(workerEnv(), QueueName.activations, [request(stuck), request(next)], { ids: ["m-stuck", "m-next"] }));
    expect(result.explicitAcks).toEqual(["m-next"]);
    expect(result.retryMessages.map((m) => m.msgId)).toEqual(["m-stuck"]);
    expect(await txRow(stuck)).toMatchObject({ status: "PENDING", sub_status: "pending" });
    expect(await refundsOf(stuck)).toEqual({ n: 0, total: 0 });
    expect(await txRow(next)).toMatchObject({ status: "FAILED", sub_status: "failed" });
    expect(await refundsOf(next)).toEqual({ n: 1, total: 1000 });
    await expectConservation(user.id);
  });

  it("a transaction settled FAILED while its partner step ran: the batch's success changes nothing for it and asks the partner to cancel", async () => {
    const user = await createUser({ balance: 10_000 });
    const offer = await makeOffer({ price: 1000 });
    const [ok, late] = [await pendingActivation(user.id, offer.id), await pendingActivation(user.id, offer.id)];
    const cancels = recordingQueue();
    const envWithCancels = quietEnv({ PARTNER_API_URL: PARTNER_URL, NOTIFICATIONS: recordingQueue(), ACTIVATIONS: cancels } as unknown as Partial<Env>);
    // The late one is failed and refunded (a dead-letter delivery) while its partner call runs, before the batch writes.
    outbound.on(PARTNER_URL, async (sent) => {
      const id = JSON.parse(sent.body).transaction_id;
      if (id === late) await deliverTo(envWithCancels, QueueName.activationsDeadLetter, [request(late)]);
      return success();
    });
    const { result } = await quietly(() => deliverTo(envWithCancels, QueueName.activations, [request(ok), request(late)], { ids: ["m-ok", "m-late"] }));
    expect(result.explicitAcks.sort()).toEqual(["m-late", "m-ok"]);
    expect(await txRow(ok)).toMatchObject({ status: "SUCCESS", sub_status: "active" });
    expect(await txRow(late)).toMatchObject({ status: "FAILED", sub_status: "failed" });
    expect(await refundsOf(late)).toEqual({ n: 1, total: 1000 });
    expect(await hashStatus(late)).toBe("FAILED");
    expect(cancels.sent).toContainEqual(expect.objectContaining({ type: "activation.cancel", transaction_id: late }));
    await expectConservation(user.id);
  });
});
