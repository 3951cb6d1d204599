// Callers that go away (the client disconnected, the worker's request was cancelled) while their
// operation waits for the wallet's turn or holds it: the wallet object must go on serving that
// wallet. A waiting call that was handed the turn but never took it up would hold every later
// operation of the wallet forever, so each test ends with fresh purchases that must be answered,
// and checks that no money moved without its purchase.
import { runInDurableObject } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import type { WalletDurableObject } from "../../../src/features/wallet/wallet.durable-object";
import { BASE } from "../../helpers/api";
import { createUser, unique, walletState, type TestUser } from "../../helpers/factories";
import { purchaseViaApi } from "../../helpers/marketplace-api";
import { insertMerchant, insertVoucher } from "../../helpers/voucher-factories";

const COST = 1000; // site setting voucher_cost: 10 points

/** Far above any answer on a loaded machine: not a timing assertion, only "it is answered at all". */
const ANSWERED_WITHIN_MS = 15_000;

function answeredWithin<T>(promise: Promise<T>, what: string): Promise<T> {
  let reject!: (error: Error) => void;
  const stalled = new Promise<never>((_, fail) => (reject = fail));
  const timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ANSWERED_WITHIN_MS} ms (the wallet stalled)`)), ANSWERED_WITHIN_MS);
  return Promise.race([promise, stalled]).finally(() => clearTimeout(timer));
}

/** A purchase through the whole worker whose caller can hang up: `abort()` cancels the worker's request mid-flight. */
function abortablePurchase(buyer: TestUser, voucherId: number, key: string) {
  const controller = new AbortController();
  const answer = exports.default
    .fetch(
      new Request(`${BASE}/api/v1/voucher-purchase/purchase/`, {
        method: "POST",
        signal: controller.signal,
        headers: { authorization: `Bearer ${buyer.token}`, "content-type": "application/json", "Idempotency-Key": key },
        body: JSON.stringify({ voucher_id: voucherId }),
      }),
    )
    .then(async (response) => ({ status: response.status, body: (await response.json()) as Record<string, any> }))
    // Hung up before the whole answer arrived: the caller does not know what happened.
    .catch((error: unknown) => ({ status: 0, body: { aborted: String(error) } }));
  return { key, answer, abort: () => controller.abort() };
}

/**
 * Holds the first batch the wallet object sends on its primary session until `release()`, after
 * D1 has answered it: the operation holding the turn stays in it, and the others queue behind.
 */
function holdFirstWalletBatch() {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  const proto = Object.getPrototypeOf(env.DB.withSession("first-primary")) as Record<string, Function>;
  const original = proto.batch!;
  let held = false;
  proto.batch = async function (this: object, statements: unknown[]) {
    const first = !held;
    held = true;
    const results = await original.call(this, statements);
    if (first) await released;
    return results;
  };
  restore = () => (proto.batch = original);
  return release;
}
let restore = () => {};
afterEach(() => restore());

/** How many calls wait for the wallet's turn (read inside the object, as nothing outside it can see its queue). */
const waitingFor = (userId: number) =>
  runInDurableObject(env.WALLET.get(env.WALLET.idFromName(`wallet:${userId}`)), (wallet: WalletDurableObject) => (wallet as unknown as { waiting: unknown[] }).waiting.length);

async function untilWaiting(userId: number, count: number) {
  const deadline = Date.now() + ANSWERED_WITHIN_MS;
  while ((await waitingFor(userId)) < count) {
    if (Date.now() > deadline) throw new Error(`fewer than ${count} calls ever waited for the wallet's turn`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * Money conserved and nothing paid for that was not bought: balance = ledger, and every debit of
 * the buyer's ledger has its purchase row (same transaction), and every purchase row its debit.
 */
async function expectEveryDebitBought(buyerId: number, purchases: number, startBalance: number) {
  expect(await walletState(buyerId)).toEqual({ balance: startBalance - purchases * COST, ledger_sum: startBalance - purchases * COST, debits: purchases });
  const unmatched = await env.DB.prepare(
    `SELECT
       (SELECT COUNT(*) FROM ledger_entries l WHERE l.user_id = ?1 AND l.amount < 0
          AND NOT EXISTS (SELECT 1 FROM voucher_redemptions r WHERE r.transaction_id = l.transaction_id AND r.user_id = ?1)) AS debits_without_purchase,
       (SELECT COUNT(*) FROM voucher_redemptions r WHERE r.user_id = ?1
          AND NOT EXISTS (SELECT 1 FROM ledger_entries l WHERE l.transaction_id = r.transaction_id AND l.amount = -?2)) AS purchases_without_debit,
       (SELECT COUNT(*) FROM voucher_redemptions WHERE user_id = ?1) AS purchases`,
  )
    .bind(buyerId, COST)
    .first();
  expect(unmatched).toEqual({ debits_without_purchase: 0, purchases_without_debit: 0, purchases });
}

/** Each 201 answer is its own purchase row with its transaction. */
async function expectAnswersAreRows(buyerId: number, answers: { status: number; body: Record<string, any> }[]) {
  const sold = answers.filter((a) => a.status === 201);
  for (const a of sold) {
    const row = await env.DB.prepare("SELECT purchase_reference, transaction_id FROM voucher_redemptions WHERE id = ? AND user_id = ?").bind(a.body.redemption_id, buyerId).first();
    expect(row).toEqual({ purchase_reference: a.body.purchase_reference, transaction_id: a.body.transaction_id });
  }
  expect(new Set(sold.map((a) => a.body.redemption_id)).size).toBe(sold.length);
}

/** After the burst: fresh purchases on the same wallet are answered, and every key of a caller who hung up answers what it bought, once. */
async function expectWalletStillServes(buyer: TestUser, voucherId: number, abandonedKeys: string[]) {
  const later = await answeredWithin(Promise.all(Array.from({ length: 3 }, () => purchaseViaApi(buyer.token, voucherId))), "purchases after callers went away");
  expect(later.map((a) => a.status)).toEqual([201, 201, 201]);
  const retried = await answeredWithin(
    Promise.all(abandonedKeys.map((key) => purchaseViaApi(buyer.token, voucherId, { "Idempotency-Key": key }))),
    "retries of the abandoned purchases",
  );
  for (const a of retried) expect(a.status).toBe(201);
  await expectAnswersAreRows(buyer.id, [...later, ...retried]);
  return later.length;
}

describe("wallet callers that go away", () => {
  it("callers that hang up while waiting for the wallet's turn, and the one holding it: the wallet serves the rest and the next purchases, and no money moves without its purchase", async () => {
    const voucher = await insertVoucher(await insertMerchant());
    const start = 100_000;
    const buyer = await createUser({ balance: start });
    const release = holdFirstWalletBatch();
    const calls = Array.from({ length: 24 }, () => abortablePurchase(buyer, voucher.id, unique("gone")));
    // The first holds the turn in its batch; the 23 others wait behind it.
    await untilWaiting(buyer.id, calls.length - 1);
    const abandoned = calls.filter((_, i) => i % 2 === 0);
    for (const call of abandoned) call.abort();
    for (const call of abandoned) expect((await call.answer).status).toBe(0);
    release();

    const kept = await answeredWithin(Promise.all(calls.filter((_, i) => i % 2 === 1).map((c) => c.answer)), "purchases whose callers stayed");
    expect(kept.map((a) => a.status)).toEqual(Array(12).fill(201));
    await expectAnswersAreRows(buyer.id, kept);
    const later = await expectWalletStillServes(buyer, voucher.id, abandoned.map((c) => c.key));
    expect(await waitingFor(buyer.id)).toBe(0);
    // The abandoned purchases were each made once (while their callers were gone, or by the retry).
    await expectEveryDebitBought(buyer.id, calls.length + later, start);
  });

  it("bursts in which half the callers hang up one after another while the others are answered (queued, holding the turn, in a group): every later purchase is answered, and the money matches the purchases", async () => {
    const voucher = await insertVoucher(await insertMerchant());
    const start = 200_000;
    const buyer = await createUser({ balance: start });
    const abandonedKeys: string[] = [];
    let made = 0;
    for (let round = 0; round < 3; round++) {
      const calls = Array.from({ length: 30 }, () => abortablePurchase(buyer, voucher.id, unique("burst")));
      // Every other caller hangs up: the first at once, then two more each time a caller who
      // stayed is answered, so they go while their operation queues, waits, holds the turn or
      // rides in another's group batch.
      const abandoned = calls.filter((_, i) => i % 2 === 0);
      const stillThere = [...abandoned];
      const hangUpNext = () => stillThere.splice(0, 2).forEach((call) => call.abort());
      setTimeout(() => stillThere.shift()?.abort(), round);
      calls.forEach((call, i) => i % 2 === 1 && void call.answer.then(hangUpNext));
      const answers = await answeredWithin(Promise.all(calls.map((c) => c.answer)), `round ${round}`);
      // A caller who stayed always gets its answer; one who hung up may have been answered first.
      answers.forEach((a, i) => expect(i % 2 === 1 ? [201] : [0, 201]).toContain(a.status));
      await expectAnswersAreRows(buyer.id, answers);
      abandonedKeys.push(...abandoned.map((c) => c.key));
      made += calls.length;
    }
    made += await expectWalletStillServes(buyer, voucher.id, abandonedKeys);
    await expectEveryDebitBought(buyer.id, made, start);
  });
});
