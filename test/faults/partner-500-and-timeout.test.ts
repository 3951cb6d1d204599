// Fault: the partner answers 500, then stops answering at all. Retries back off, the dead-letter
// queue fails and refunds once, and the partner is told to cancel (it may have provisioned it
// without answering), retried until it acknowledges.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { DEAD_LETTER_REASON } from "../../src/features/activation/activation.consumer";
import { signPartnerBody } from "../../src/features/partner/partner.client";
import { QueueName } from "../../src/queues/messages";
import { createUser } from "../helpers/factories";
import { makeOffer, refundsOf, txRow } from "../helpers/offer-factories";
import { outbound } from "../helpers/outbound";
import { call, deliverTo, expectConservation, quietly, recordingQueue } from "./helpers";
import type { Env } from "../../src/env";

const PARTNER_URL = "https://partner.example/v1/activations";
/** The activation endpoint itself, not its /status and /cancel siblings. */
const ACTIVATE = /^https:\/\/partner\.example\/v1\/activations$/;

const cancelState = (id: string) =>
  env.DB.prepare("SELECT partner_cancel_requested_at AS requested, partner_cancel_acknowledged_at AS acknowledged, partner_cancel_attempts AS attempts FROM transactions WHERE id = ?")
    .bind(id)
    .first<{ requested: string | null; acknowledged: string | null; attempts: number }>();

describe("partner answering 500, then timing out", () => {
  it("retries with backoff, fails and refunds once from the dead-letter queue, then cancels at the partner until acknowledged", async () => {
    const queue = recordingQueue<{ type: string; transaction_id: string }>();
    const workerEnv = { ...env, PARTNER_API_URL: PARTNER_URL, ACTIVATIONS: queue } as unknown as Env;
    const user = await createUser({ balance: 5000 });
    const offer = await makeOffer({ price: 2000 });
    const created = await call(workerEnv, "POST", "/api/v1/activation/", { token: user.token, body: { offer_id: offer.id } });
    const id = created.body.transaction_id as string;
    const message = { type: "activation.requested", transaction_id: id };

    outbound.on(ACTIVATE, new Response(JSON.stringify({ error: "upstream down" }), { status: 500 }), { times: 3 });
    outbound.on(ACTIVATE, () => Promise.reject(new DOMException("The operation was aborted due to timeout", "TimeoutError")));
    const delays: number[] = [];
    for (let attempts = 1; attempts <= 5; attempts++) {
      const { result } = await quietly(() => deliverTo(workerEnv, QueueName.activations, [message], { attempts }));
      expect(result.retryMessages).toHaveLength(1);
      expect(result.explicitAcks).toHaveLength(0);
      delays.push(...result.retryDelays.map(Number));
    }
    expect(delays).toEqual([2, 4, 8, 16, 32]);
    expect((await txRow(id))!.status).toBe("PENDING");

    // Out of retries: the queue moves it to the dead-letter queue; delivered twice, it acts once.
    await deliverTo(workerEnv, QueueName.activationsDeadLetter, [message], { attempts: 6 });
    await deliverTo(workerEnv, QueueName.activationsDeadLetter, [message], { attempts: 7 });
    expect(await txRow(id)).toMatchObject({ status: "FAILED", failure_reason: DEAD_LETTER_REASON, sub_status: "failed" });
    expect(await refundsOf(id)).toEqual({ n: 1, total: 2000 });
    expect((await cancelState(id))!.requested).not.toBeNull();
    const cancels = queue.sent.filter((m) => m.type === "activation.cancel");
    expect(cancels).toEqual([{ type: "activation.cancel", transaction_id: id }]);

    // The cancel: refused once, then acknowledged; the request is signed and keyed for deduplication.
    outbound.on(`${PARTNER_URL}/cancel`, new Response("{}", { status: 503 }), { times: 1 });
    outbound.on(`${PARTNER_URL}/cancel`, { status: "CANCELLED" });
    const { result: first } = await quietly(() => deliverTo(workerEnv, QueueName.activations, cancels, { attempts: 1 }));
    expect(first.retryMessages).toHaveLength(1);
    expect((await cancelState(id))!.acknowledged).toBeNull();
    const second = await deliverTo(workerEnv, QueueName.activations, cancels, { attempts: 2 });
    expect(second.explicitAcks).toHaveLength(1);
    expect(await cancelState(id)).toMatchObject({ attempts: 2, acknowledged: expect.any(String) });
    // Acknowledged: a redelivery calls nobody.
    await deliverTo(workerEnv, QueueName.activations, cancels, { attempts: 3 });

    const sent = outbound.requestsTo(`${PARTNER_URL}/cancel`);
    expect(sent).toHaveLength(2);
    for (const request of sent) {
      expect(request.headers["idempotency-key"]).toBe(`cancel:${id}`);
      expect(request.headers["x-perks-signature"]).toBe(await signPartnerBody(env.PARTNER_API_SECRET!, request.headers["x-perks-timestamp"]!, request.body));
      expect(JSON.parse(request.body)).toMatchObject({ transaction_id: id });
    }
    await expectConservation(user.id);
  });
});
