// Fault: a request claims an Idempotency-Key and dies (after debiting, before storing its answer).
// Its claim must not block retries forever, and the retry must not debit a second time.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { Env } from "../../src/env";
import { requestActivation } from "../../src/features/activation/activation.service";
import { sha256Hex } from "../../src/lib/crypto";
import { IDEMPOTENCY_CLAIM_TIMEOUT_SECONDS } from "../../src/middleware/idempotency";
import { createUser, walletState } from "../helpers/factories";
import { makeOffer } from "../helpers/offer-factories";
import { call, expectConservation, recordingQueue } from "./helpers";

const workerEnv = () => ({ ...env, ACTIVATIONS: recordingQueue() }) as unknown as Env;

/** What the dead request left: its debit (through the wallet, keyed by the Idempotency-Key) and its claim. */
async function diedAfterDebit(claimedSecondsAgo: number) {
  const user = await createUser({ balance: 5000 });
  const offer = await makeOffer({ price: 2000 });
  const key = `key-${crypto.randomUUID()}`;
  const body = { offer_id: offer.id };
  const first = await requestActivation(workerEnv(), { userId: user.id, offerId: offer.id, idempotencyKey: key });
  const claimedAt = new Date(Date.now() - claimedSecondsAgo * 1000).toISOString();
  await env.DB.prepare("INSERT INTO idempotency_keys (scope, request_hash, state, claimed_at, claim_token) VALUES (?, ?, 'in_progress', ?, 'dead-request')")
    .bind(`${user.id}:POST:/api/v1/activation:${key}`, await sha256Hex(JSON.stringify(body)), claimedAt)
    .run();
  return { user, key, body, transactionId: first.transaction_id };
}

describe("a request dying after claiming an Idempotency-Key", () => {
  it(`a claim younger than ${IDEMPOTENCY_CLAIM_TIMEOUT_SECONDS} s still answers 409 (the first request may be running)`, async () => {
    const { user, key, body } = await diedAfterDebit(5);
    const retry = await call(workerEnv(), "POST", "/api/v1/activation/", { token: user.token, body, headers: { "idempotency-key": key } });
    expect(retry.status).toBe(409);
    expect(retry.body.code).toBe("IDEMPOTENCY_IN_PROGRESS");
    await expectConservation(user.id);
  });

  it("an older claim is taken over by a retry, which replays the wallet's debit instead of making a second; then the answer is stored", async () => {
    const { user, key, body, transactionId } = await diedAfterDebit(IDEMPOTENCY_CLAIM_TIMEOUT_SECONDS + 5);
    const retry = await call(workerEnv(), "POST", "/api/v1/activation/", { token: user.token, body, headers: { "idempotency-key": key } });
    expect(retry.status).toBe(202);
    expect(retry.body).toEqual({ transaction_id: transactionId, status: "PENDING" });
    expect(await walletState(user.id)).toEqual({ balance: 3000, ledger_sum: 3000, debits: 1 });

    const replay = await call(workerEnv(), "POST", "/api/v1/activation/", { token: user.token, body, headers: { "idempotency-key": key } });
    expect(replay.status).toBe(202);
    expect(replay.headers.get("idempotent-replayed")).toBe("true");
    expect(replay.body).toEqual(retry.body);
    await expectConservation(user.id);
  });

  it("many retries racing for one stale claim: exactly one takes it over, the others are told to wait, one debit", async () => {
    const { user, key, body, transactionId } = await diedAfterDebit(IDEMPOTENCY_CLAIM_TIMEOUT_SECONDS + 5);
    const answers = await Promise.all(
      Array.from({ length: 8 }, () => call(workerEnv(), "POST", "/api/v1/activation/", { token: user.token, body, headers: { "idempotency-key": key } })),
    );
    const statuses = answers.map((a) => a.status);
    // One took the claim; the others saw it either in progress (409) or already done (a 202 replay).
    expect(statuses.filter((s) => s === 202).length).toBeGreaterThanOrEqual(1);
    expect(statuses.every((s) => s === 202 || s === 409)).toBe(true);
    expect(answers.filter((a) => a.status === 202 && a.headers.get("idempotent-replayed") !== "true")).toHaveLength(1);
    for (const a of answers.filter((a) => a.status === 202)) expect(a.body.transaction_id).toBe(transactionId);
    expect(await walletState(user.id)).toEqual({ balance: 3000, ledger_sum: 3000, debits: 1 });
  });

  it("a stale claim with another body is still refused with 422, not taken over", async () => {
    const { user, key } = await diedAfterDebit(IDEMPOTENCY_CLAIM_TIMEOUT_SECONDS + 5);
    const other = await makeOffer({ price: 100 });
    const retry = await call(workerEnv(), "POST", "/api/v1/activation/", { token: user.token, body: { offer_id: other.id }, headers: { "idempotency-key": key } });
    expect(retry.status).toBe(422);
    expect(await walletState(user.id)).toEqual({ balance: 3000, ledger_sum: 3000, debits: 1 });
  });
});
