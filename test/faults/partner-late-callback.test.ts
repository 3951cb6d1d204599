// Fault: the partner finishes after we gave up. A late SUCCESS for a refunded activation must not
// leave the user with both the refund and the offer unbeknown to the partner: it is told to
// cancel. And the sweep asks the partner what happened instead of re-sending blindly.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { Env } from "../../src/env";
import { QueueName } from "../../src/queues/messages";
import { createUser } from "../helpers/factories";
import { makeOffer, partnerHeaders, refundsOf, txRow } from "../helpers/offer-factories";
import { outbound } from "../helpers/outbound";
import { call, deliverTo, expectConservation, quietly, recordingQueue, tick } from "./helpers";

const PARTNER_URL = "https://partner.example/v1/activations";

function partnerEnv() {
  const queue = recordingQueue<{ type: string; transaction_id: string }>();
  return { queue, workerEnv: { ...env, PARTNER_API_URL: PARTNER_URL, ACTIVATIONS: queue } as unknown as Env };
}

async function acceptedActivation(workerEnv: Env) {
  const user = await createUser({ balance: 5000 });
  const offer = await makeOffer({ price: 2000 });
  const created = await call(workerEnv, "POST", "/api/v1/activation/", { token: user.token, body: { offer_id: offer.id } });
  const id = created.body.transaction_id as string;
  outbound.on(PARTNER_URL, new Response(JSON.stringify({ status: "ACCEPTED" }), { status: 202 }), { times: 1 });
  await deliverTo(workerEnv, QueueName.activations, [{ type: "activation.requested", transaction_id: id }]);
  return { user, id };
}

async function callback(workerEnv: Env, body: Record<string, unknown>) {
  const path = "/api/v1/partner/callback";
  return call(workerEnv, "POST", path, { body, headers: await partnerHeaders("POST", path, JSON.stringify(body)) });
}

/** Moves a transaction's clock back, as if untouched for `minutes`. */
async function age(id: string, minutes: number) {
  const then = new Date(Date.now() - minutes * 60_000).toISOString();
  await env.DB.prepare("UPDATE transactions SET created_at = ?, updated_at = ? WHERE id = ?").bind(then, then, id).run();
}

describe("partner calling back late", () => {
  it("a SUCCESS after the dead-letter refund: applied false, the refund stands once, and the partner is asked to cancel until it acknowledges", async () => {
    const { queue, workerEnv } = partnerEnv();
    const { user, id } = await acceptedActivation(workerEnv);
    await deliverTo(workerEnv, QueueName.activationsDeadLetter, [{ type: "activation.requested", transaction_id: id }], { attempts: 6 });
    expect(await refundsOf(id)).toEqual({ n: 1, total: 2000 });

    const late = await callback(workerEnv, { transaction_id: id, status: "SUCCESS" });
    expect(late.status).toBe(200);
    expect(late.body).toEqual({ transaction_id: id, status: "FAILED", applied: false, cancel_requested: true });
    expect(await refundsOf(id)).toEqual({ n: 1, total: 2000 });
    expect((await txRow(id))!.sub_status).toBe("failed");

    // The partner is down when the cancel goes out; the message runs out of retries; the sweep sends it again.
    outbound.on(`${PARTNER_URL}/cancel`, new Response("{}", { status: 500 }), { times: 1 });
    const cancel = { type: "activation.cancel", transaction_id: id };
    await quietly(() => deliverTo(workerEnv, QueueName.activations, [cancel]));
    await quietly(() => deliverTo(workerEnv, QueueName.activationsDeadLetter, [cancel], { attempts: 6 }));
    queue.sent.length = 0;
    outbound.on(`${PARTNER_URL}/status`, { status: "PENDING" });
    await tick(workerEnv, new Date(Date.now() + 16 * 60_000));
    expect(queue.sent.filter((m) => m.type === "activation.cancel")).toEqual([cancel]);

    outbound.on(`${PARTNER_URL}/cancel`, { status: "CANCELLED" });
    await deliverTo(workerEnv, QueueName.activations, [cancel]);
    const row = await env.DB.prepare("SELECT partner_cancel_acknowledged_at AS ack FROM transactions WHERE id = ?").bind(id).first<{ ack: string | null }>();
    expect(row!.ack).not.toBeNull();
    // Acknowledged: the next sweep sends no cancel.
    queue.sent.length = 0;
    await tick(workerEnv, new Date(Date.now() + 32 * 60_000));
    expect(queue.sent.filter((m) => m.type === "activation.cancel")).toEqual([]);
    await expectConservation(user.id);
  });

  it("the sweep asks the partner for the state of a stale accepted activation: finished there is completed here, unknown is re-sent, pending waits", async () => {
    const { queue, workerEnv } = partnerEnv();
    const done = await acceptedActivation(workerEnv);
    const lost = await acceptedActivation(workerEnv);
    const waiting = await acceptedActivation(workerEnv);
    for (const { id } of [done, lost, waiting]) await age(id, 20);
    queue.sent.length = 0;

    outbound.on(`${PARTNER_URL}/status`, (request) => {
      const { transaction_id } = JSON.parse(request.body) as { transaction_id: string };
      if (transaction_id === done.id) return Response.json({ status: "SUCCESS" });
      if (transaction_id === lost.id) return new Response("{}", { status: 404 });
      return Response.json({ status: "PENDING" });
    });
    const before = outbound.requests.length;
    await tick(workerEnv);

    expect((await txRow(done.id))!.status).toBe("SUCCESS");
    expect((await txRow(waiting.id))!.status).toBe("PENDING");
    expect(queue.sent).toEqual([{ type: "activation.requested", transaction_id: lost.id }]);
    // No activation request went to the partner again: only state questions.
    expect(outbound.requests.slice(before).map((r) => r.url)).toEqual(Array(3).fill(`${PARTNER_URL}/status`));
    await expectConservation(done.user.id, lost.user.id, waiting.user.id);
  });

  it("a FAILED callback after the partner said SUCCESS changes nothing (no refund after a success)", async () => {
    const { workerEnv } = partnerEnv();
    const { user, id } = await acceptedActivation(workerEnv);
    expect((await callback(workerEnv, { transaction_id: id, status: "SUCCESS" })).body).toMatchObject({ applied: true, status: "SUCCESS" });
    const late = await callback(workerEnv, { transaction_id: id, status: "FAILED", reason: "changed our mind" });
    expect(late.body).toEqual({ transaction_id: id, status: "SUCCESS", applied: false });
    expect(await refundsOf(id)).toEqual({ n: 0, total: 0 });
    await expectConservation(user.id);
  });
});
