import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { completeActivation } from "../../../src/features/activation/activation.service";
import { hashFields } from "../../../src/features/activation/transaction-cache";
import { signPartnerBody } from "../../../src/features/partner/partner.client";
import { getRedis } from "../../../src/lib/redis";
import { backoffSeconds } from "../../../src/queues/consumers";
import { QueueName } from "../../../src/queues/messages";
import { outbound } from "../../helpers/outbound";
import { createUser, walletState } from "../../helpers/factories";
import { deliverActivation, makeOffer, pendingActivation, quietEnv, refundsOf, txRow } from "../../helpers/offer-factories";

const PARTNER_URL = "https://partner.example/v1/activations";
const partnerEnv = () => quietEnv({ PARTNER_API_URL: PARTNER_URL });

async function failureNotices(transactionId: string) {
  const row = await env.DB.prepare("SELECT COUNT(*) AS n FROM notifications WHERE dedupe_key = ?").bind(`activation-failed:${transactionId}`).first<{ n: number }>();
  return row!.n;
}

describe("activation consumer", () => {
  it("sandbox success: SUCCESS, subscription active for duration_days, only status and updated_at re-written in the hash", async () => {
    const user = await createUser({ balance: 5000 });
    const offer = await makeOffer({ price: 2000, durationDays: 30 });
    const id = await pendingActivation(user.id, offer.id);
    const result = await deliverActivation(id);
    expect(result.explicitAcks).toHaveLength(1);
    const row = await txRow(id);
    expect(row).toMatchObject({ status: "SUCCESS", sub_status: "active" });
    expect(new Date(row!.ends_at!).getTime() - new Date(row!.starts_at!).getTime()).toBe(30 * 86_400_000);
    const hash = hashFields(await getRedis(env)!.hgetall(`transaction:${id}`));
    expect(hash).toMatchObject({ status: "SUCCESS", amount: "20.00", user_id: String(user.id) });
    expect(await walletState(user.id)).toEqual({ balance: 3000, ledger_sum: 3000, debits: 1 });
  });

  it("settled by someone else while the consumer waits on the partner: the consumer's success changes nothing, the refund stays single", async () => {
    const user = await createUser({ balance: 5000 });
    const offer = await makeOffer({ price: 2000 });
    const id = await pendingActivation(user.id, offer.id);
    // The partner answers SUCCESS, but only after the activation was failed and refunded meanwhile (a dead-letter delivery, a callback).
    outbound.on(PARTNER_URL, async () => {
      await completeActivation(partnerEnv(), id, { status: "FAILED", reason: "settled meanwhile" });
      return Response.json({ status: "SUCCESS", partner_reference: "P-late" });
    });
    await deliverActivation(id, { env: partnerEnv() });
    expect(await txRow(id)).toMatchObject({ status: "FAILED", sub_status: "failed" });
    expect(await refundsOf(id)).toEqual({ n: 1, total: 2000 });
    expect(await walletState(user.id)).toEqual({ balance: 5000, ledger_sum: 5000, debits: 1 });
  });

  it("the same message delivered twice changes nothing the second time (and calls the partner once)", async () => {
    const user = await createUser({ balance: 5000 });
    const offer = await makeOffer({ price: 2000 });
    const id = await pendingActivation(user.id, offer.id);
    outbound.on(PARTNER_URL, { status: "SUCCESS", partner_reference: "P-1" });
    await deliverActivation(id, { env: partnerEnv() });
    const after = await env.DB.prepare("SELECT status, updated_at FROM transactions WHERE id = ?").bind(id).first();
    const second = await deliverActivation(id, { env: partnerEnv() });
    expect(second.explicitAcks).toHaveLength(1);
    expect(second.retryMessages).toHaveLength(0);
    expect(await env.DB.prepare("SELECT status, updated_at FROM transactions WHERE id = ?").bind(id).first()).toEqual(after);
    expect(outbound.requestsTo(PARTNER_URL)).toHaveLength(1);
    expect(await walletState(user.id)).toEqual({ balance: 3000, ledger_sum: 3000, debits: 1 });
  });

  it("sends the partner a signed request: URL, timestamp, HMAC-SHA256 signature of '<timestamp>.<body>', body", async () => {
    const user = await createUser({ balance: 5000 });
    const offer = await makeOffer({ price: 2500, durationDays: 7 });
    const id = await pendingActivation(user.id, offer.id);
    outbound.on(PARTNER_URL, { status: "SUCCESS" }, { method: "POST" });
    await deliverActivation(id, { env: partnerEnv() });
    const [sent] = outbound.requestsTo(PARTNER_URL);
    expect(sent!.method).toBe("POST");
    expect(sent!.url).toBe(PARTNER_URL);
    const timestamp = sent!.headers["x-perks-timestamp"]!;
    expect(Math.abs(Number(timestamp) - Date.now() / 1000)).toBeLessThan(300);
    expect(sent!.headers["x-perks-signature"]).toBe(await signPartnerBody(env.PARTNER_API_SECRET!, timestamp, sent!.body));
    expect(sent!.headers["idempotency-key"]).toBe(id);
    expect(JSON.parse(sent!.body)).toMatchObject({ transaction_id: id, offer_id: offer.id, user_id: user.id, amount: "25.00", duration_days: 7 });
    expect((await txRow(id))!.status).toBe("SUCCESS");
  });

  it("a partner refusal (4xx) fails the activation, refunds exactly once and notifies the user once", async () => {
    const user = await createUser({ balance: 5000 });
    const offer = await makeOffer({ price: 2000 });
    const id = await pendingActivation(user.id, offer.id);
    outbound.on(PARTNER_URL, new Response(JSON.stringify({ reason: "subscriber not eligible" }), { status: 422 }));
    const result = await deliverActivation(id, { env: partnerEnv() });
    expect(result.explicitAcks).toHaveLength(1);
    await deliverActivation(id, { env: partnerEnv() });
    const row = await txRow(id);
    expect(row).toMatchObject({ status: "FAILED", sub_status: "failed" });
    expect(row!.failure_reason).toContain("subscriber not eligible");
    expect(await refundsOf(id)).toEqual({ n: 1, total: 2000 });
    expect(await walletState(user.id)).toEqual({ balance: 5000, ledger_sum: 5000, debits: 1 });
    expect(await failureNotices(id)).toBe(1);
    expect(hashFields(await getRedis(env)!.hgetall(`transaction:${id}`))).toMatchObject({ status: "FAILED" });
  });

  it("the sandbox partner refuses offers marked to fail", async () => {
    const user = await createUser({ balance: 5000 });
    const offer = await makeOffer({ price: 1500, sandboxOutcome: "fail" });
    const id = await pendingActivation(user.id, offer.id);
    await deliverActivation(id);
    expect((await txRow(id))!.status).toBe("FAILED");
    expect(await refundsOf(id)).toEqual({ n: 1, total: 1500 });
  });

  it("a 5xx or a timeout retries with exponential backoff and changes nothing", async () => {
    const user = await createUser({ balance: 5000 });
    const offer = await makeOffer({ price: 2000 });
    const id = await pendingActivation(user.id, offer.id);
    outbound.on(PARTNER_URL, new Response("upstream down", { status: 503 }), { times: 1 });
    const first = await deliverActivation(id, { env: partnerEnv(), attempts: 1 });
    expect(first.retryMessages).toHaveLength(1);
    // Backoff doubles per attempt from 2 s, capped at 5 minutes.
    expect(first.retryDelays).toEqual([2]);
    outbound.on(PARTNER_URL, () => Promise.reject(new DOMException("The operation timed out.", "TimeoutError")));
    const third = await deliverActivation(id, { env: partnerEnv(), attempts: 3 });
    expect(third.retryMessages).toHaveLength(1);
    expect(third.retryDelays).toEqual([8]);
    expect([backoffSeconds(8), backoffSeconds(9), backoffSeconds(50)]).toEqual([256, 300, 300]);
    expect((await txRow(id))!.status).toBe("PENDING");
    expect(await refundsOf(id)).toEqual({ n: 0, total: 0 });
  });

  it("a 202 from the partner leaves the activation PENDING for the callback", async () => {
    const user = await createUser({ balance: 5000 });
    const offer = await makeOffer();
    const id = await pendingActivation(user.id, offer.id);
    outbound.on(PARTNER_URL, new Response(JSON.stringify({ status: "ACCEPTED" }), { status: 202 }));
    const result = await deliverActivation(id, { env: partnerEnv() });
    expect(result.explicitAcks).toHaveLength(1);
    expect((await txRow(id))!.status).toBe("PENDING");
  });

  it("retries exhausted: the dead-letter consumer ends it FAILED and refunded once, however often delivered", async () => {
    const user = await createUser({ balance: 5000 });
    const offer = await makeOffer({ price: 2000 });
    const id = await pendingActivation(user.id, offer.id);
    await deliverActivation(id, { queue: QueueName.activationsDeadLetter });
    await deliverActivation(id, { queue: QueueName.activationsDeadLetter });
    expect(await txRow(id)).toMatchObject({ status: "FAILED", sub_status: "failed" });
    expect(await refundsOf(id)).toEqual({ n: 1, total: 2000 });
    expect(await walletState(user.id)).toEqual({ balance: 5000, ledger_sum: 5000, debits: 1 });
    expect(await failureNotices(id)).toBe(1);
  });

  it("a dead-letter delivery after success changes nothing", async () => {
    const user = await createUser({ balance: 5000 });
    const offer = await makeOffer({ price: 2000 });
    const id = await pendingActivation(user.id, offer.id);
    await deliverActivation(id);
    await deliverActivation(id, { queue: QueueName.activationsDeadLetter });
    expect((await txRow(id))!.status).toBe("SUCCESS");
    expect(await refundsOf(id)).toEqual({ n: 0, total: 0 });
  });

  it("racing success and failure completions: one outcome wins, refunds match it", async () => {
    const user = await createUser({ balance: 50_000 });
    const offer = await makeOffer({ price: 1000 });
    for (let round = 0; round < 5; round++) {
      const id = await pendingActivation(user.id, offer.id);
      const outcomes = await Promise.all(
        Array.from({ length: 10 }, (_, i) => completeActivation(quietEnv(), id, i % 2 ? { status: "SUCCESS" } : { status: "FAILED", reason: "race" })),
      );
      expect(outcomes.filter((o) => o.applied)).toHaveLength(1);
      const final = (await txRow(id))!;
      expect((await refundsOf(id)).n).toBe(final.status === "FAILED" ? 1 : 0);
      expect(final.sub_status).toBe(final.status === "FAILED" ? "failed" : "active");
    }
    const state = await walletState(user.id);
    expect(state.balance).toBe(state.ledger_sum);
  });
});
