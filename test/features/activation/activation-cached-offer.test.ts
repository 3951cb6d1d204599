// An activation prices the offer from the per-isolate read cache and debits in one D1 round trip
// (the wallet's batch), which refuses an offer that changed behind the cache. Here the cache is on
// (the suite runs with it off), and every change is made straight in D1, as another isolate would.
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import { readCacheClock } from "../../../src/lib/read-cache";
import { isCleanError } from "../../helpers/api";
import { createUser, walletState } from "../../helpers/factories";
import { countD1RoundTrips } from "../../helpers/d1-round-trips";
import { makeOffer, quietEnv } from "../../helpers/offer-factories";
import { postWithEnv } from "../../helpers/worker-env";

const cacheEnv = quietEnv({ READ_CACHE_SECONDS: "10" });
let now = Date.now();
readCacheClock.now = () => now;
afterEach(() => {
  now += 3_600_000; // every test starts with nothing cached
});

const activate = (token: string, offerId: number, headers: Record<string, string> = {}) =>
  postWithEnv(cacheEnv, "/api/v1/activation/", { token, body: { offer_id: offerId }, headers });

const activationOf = (transactionId: string) =>
  env.DB.prepare("SELECT t.amount, t.description, s.offer_id, s.status FROM transactions t JOIN subscriptions s ON s.transaction_id = t.id WHERE t.id = ?")
    .bind(transactionId)
    .first<{ amount: number; description: string; offer_id: number; status: string }>();

const recordsOf = async (userId: number) =>
  env.DB.prepare(
    "SELECT (SELECT COUNT(*) FROM transactions WHERE user_id = ?1) AS transactions, (SELECT COUNT(*) FROM subscriptions WHERE user_id = ?1) AS subscriptions",
  )
    .bind(userId)
    .first<{ transactions: number; subscriptions: number }>();

/** An active offer, its terms in this isolate's cache (a first user activated it). */
async function warmOffer(price = 2000) {
  const offer = await makeOffer({ price });
  const first = await createUser({ balance: 10_000 });
  expect((await activate(first.token, offer.id)).status).toBe(202);
  return offer;
}

async function expectNothingDebited(user: { id: number }, balance: number) {
  expect(await walletState(user.id)).toEqual({ balance, ledger_sum: balance, debits: 0 });
  expect(await recordsOf(user.id)).toEqual({ transactions: 0, subscriptions: 0 });
}

describe("activation at a cached offer", () => {
  it("warm, an activation is one D1 round trip: the wallet's batch, with the guarded subscription in it", async () => {
    const offer = await warmOffer();
    const user = await createUser({ balance: 5000 });
    await activate(user.token, offer.id + 1_000_000); // warms this user's "is the user active" check, which is not the activation's
    const { result, trips } = await countD1RoundTrips(() => activate(user.token, offer.id, { "Idempotency-Key": `one-trip-${user.id}` }));
    expect(result.status).toBe(202);
    expect(trips).toHaveLength(1);
    // The pending subscription writes the PENDING transaction and the outbox row itself (its trigger).
    expect(trips[0]!.map((sql) => /^\s*(\w+ \w+ \w+)/.exec(sql)![1])).toEqual([
      "UPDATE wallets SET",
      "INSERT INTO ledger_entries",
      "INSERT INTO subscriptions",
      "INSERT INTO idempotency_keys",
    ]);
    expect(await walletState(user.id)).toEqual({ balance: 3000, ledger_sum: 3000, debits: 1 });
    expect(await activationOf(result.body.transaction_id)).toMatchObject({ amount: 2000, offer_id: offer.id, status: "pending" });
  });

  it("an offer deactivated behind the cache is 404, with nothing debited, even for a user who could not pay it", async () => {
    const offer = await warmOffer();
    await env.DB.prepare("UPDATE offers SET is_active = 0 WHERE id = ?").bind(offer.id).run();
    const user = await createUser({ balance: 5000 });
    const res = await activate(user.token, offer.id);
    expect([res.status, res.body.code]).toEqual([404, "NOT_FOUND"]);
    expect(isCleanError(res.body)).toBe(true);
    await expectNothingDebited(user, 5000);
    const poor = await createUser({ balance: 100 });
    const refused = await activate(poor.token, offer.id);
    expect([refused.status, refused.body.code]).toEqual([404, "NOT_FOUND"]);
    await expectNothingDebited(poor, 100);
  });

  it("a price raised behind the cache is debited at the new price, never the cached one; a user short of it is refused for balance", async () => {
    const offer = await warmOffer(2000);
    await env.DB.prepare("UPDATE offers SET price = 3000 WHERE id = ?").bind(offer.id).run();
    const user = await createUser({ balance: 5000 });
    const res = await activate(user.token, offer.id);
    expect(res.status).toBe(202);
    expect(await walletState(user.id)).toEqual({ balance: 2000, ledger_sum: 2000, debits: 1 });
    expect(await activationOf(res.body.transaction_id)).toMatchObject({ amount: 3000, offer_id: offer.id });
    const short = await createUser({ balance: 2500 });
    const refused = await activate(short.token, offer.id);
    expect(refused.body).toMatchObject({ code: "INSUFFICIENT_BALANCE", details: { balance: "25.00", required: "30.00" } });
    await expectNothingDebited(short, 2500);
  });

  it("a price lowered behind the cache activates for a user who can pay the new price but not the cached one", async () => {
    const offer = await warmOffer(2000);
    await env.DB.prepare("UPDATE offers SET price = 1000 WHERE id = ?").bind(offer.id).run();
    const user = await createUser({ balance: 1500 });
    const res = await activate(user.token, offer.id);
    expect(res.status).toBe(202);
    expect(await walletState(user.id)).toEqual({ balance: 500, ledger_sum: 500, debits: 1 });
  });

  it("a name changed behind the cache is the one the transaction records", async () => {
    const offer = await warmOffer();
    await env.DB.prepare("UPDATE offers SET name = 'Renamed plan' WHERE id = ?").bind(offer.id).run();
    const user = await createUser({ balance: 5000 });
    const res = await activate(user.token, offer.id);
    expect(res.status).toBe(202);
    expect((await activationOf(res.body.transaction_id))!.description).toBe("Activation: Renamed plan");
  });

  it("a replay of an activation after the offer changed answers the first answer and debits nothing more", async () => {
    const offer = await warmOffer();
    const user = await createUser({ balance: 5000 });
    const headers = { "Idempotency-Key": `replay-after-change-${user.id}` };
    const first = await activate(user.token, offer.id, headers);
    expect(first.status).toBe(202);
    await env.DB.prepare("UPDATE offers SET price = 4000, is_active = 0 WHERE id = ?").bind(offer.id).run();
    const replay = await activate(user.token, offer.id, headers);
    expect(replay.status).toBe(202);
    expect(replay.headers.get("idempotent-replayed")).toBe("true");
    expect(replay.body).toEqual(first.body);
    expect(await walletState(user.id)).toEqual({ balance: 3000, ledger_sum: 3000, debits: 1 });
  });

  it("30 concurrent activations on one wallet that can pay for 7, then 10 after a deactivation: exactly 7 debited, each refusal exact, money agrees", async () => {
    const offer = await warmOffer(1000);
    const user = await createUser({ balance: 7500 });
    const burst = (from: number, n: number) => Array.from({ length: n }, (_, i) => activate(user.token, offer.id, { "Idempotency-Key": `burst-${from + i}-${user.id}` }));
    const first = await Promise.all(burst(0, 30));
    await env.DB.prepare("UPDATE offers SET is_active = 0 WHERE id = ?").bind(offer.id).run();
    const after = await Promise.all(burst(30, 10));

    expect(first.filter((a) => a.status === 202)).toHaveLength(7);
    for (const refused of first.filter((a) => a.status !== 202)) expect(refused.body).toMatchObject({ code: "INSUFFICIENT_BALANCE", details: { balance: "5.00", required: "10.00" } });
    for (const refused of after) expect([refused.status, refused.body.code]).toEqual([404, "NOT_FOUND"]);
    expect(await walletState(user.id)).toEqual({ balance: 500, ledger_sum: 500, debits: 7 });
    expect(await recordsOf(user.id)).toEqual({ transactions: 7, subscriptions: 7 });
  });
});
