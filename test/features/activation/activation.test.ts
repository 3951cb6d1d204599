import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { getRedis } from "../../../src/lib/redis";
import { hashFields } from "../../../src/features/activation/transaction-cache";
import { api, isCleanError } from "../../helpers/api";
import { createUser, unique, walletState } from "../../helpers/factories";
import { requestActivation } from "../../../src/features/activation/activation.service";
import { makeOffer, pendingActivation, quietEnv } from "../../helpers/offer-factories";

const activate = (token: string, body: unknown, headers: Record<string, string> = {}) => api("POST", "/api/v1/activation/", { token, body, headers });

describe("POST /api/v1/activation/", () => {
  it("answers 202 {transaction_id, status: PENDING}, debits once and writes D1 then the Redis hash", async () => {
    const user = await createUser({ balance: 5000 });
    const offer = await makeOffer({ price: 2000 });
    const res = await activate(user.token, { offer_id: offer.id });
    expect(res.status).toBe(202);
    expect(Object.keys(res.body).sort()).toEqual(["status", "transaction_id"]);
    expect(res.body.status).toBe("PENDING");

    const tx = await env.DB.prepare("SELECT type, amount, offer_id, user_id, created_at FROM transactions WHERE id = ?").bind(res.body.transaction_id).first<any>();
    expect(tx).toMatchObject({ type: "ACTIVATION", amount: 2000, offer_id: offer.id, user_id: user.id });
    expect(await walletState(user.id)).toEqual({ balance: 3000, ledger_sum: 3000, debits: 1 });

    const hash = hashFields(await getRedis(env)!.hgetall(`transaction:${res.body.transaction_id}`));
    expect(hash).toMatchObject({ amount: "20.00", user_id: String(user.id), offer_id: String(offer.id), created_at: tx.created_at });
    expect(Object.keys(hash!).sort()).toEqual(["amount", "created_at", "offer_id", "status", "updated_at", "user_id"]);
  });

  it("answers 400 'offer_id is required' when offer_id is missing", async () => {
    const user = await createUser({ balance: 5000 });
    const res = await activate(user.token, {});
    expect(res.status).toBe(400);
    expect(res.body.error).toBe("offer_id is required");
    expect(isCleanError(res.body)).toBe(true);
  });

  it("refuses unknown and server-owned fields", async () => {
    const user = await createUser({ balance: 5000 });
    const offer = await makeOffer();
    const res = await activate(user.token, { offer_id: offer.id, status: "SUCCESS" });
    expect(res.status).toBe(400);
    expect((await walletState(user.id)).debits).toBe(0);
  });

  it("answers 404 for an unknown or an inactive offer, with nothing debited", async () => {
    const user = await createUser({ balance: 5000 });
    const inactive = await makeOffer({ isActive: false });
    for (const offerId of [999_999, inactive.id]) {
      const res = await activate(user.token, { offer_id: offerId });
      expect(res.status).toBe(404);
      expect(res.body.code).toBe("NOT_FOUND");
    }
    expect(await walletState(user.id)).toEqual({ balance: 5000, ledger_sum: 5000, debits: 0 });
  });

  it("answers 400 'Insufficient balance' with nothing debited and no transaction", async () => {
    const user = await createUser({ balance: 1999 });
    const offer = await makeOffer({ price: 2000 });
    const res = await activate(user.token, { offer_id: offer.id });
    expect(res.status).toBe(400);
    expect(res.body.error).toBe("Insufficient balance");
    expect(res.body.code).toBe("INSUFFICIENT_BALANCE");
    expect(await walletState(user.id)).toEqual({ balance: 1999, ledger_sum: 1999, debits: 0 });
    const count = await env.DB.prepare("SELECT COUNT(*) AS n FROM transactions WHERE user_id = ?").bind(user.id).first<{ n: number }>();
    expect(count!.n).toBe(0);
  });

  it("requires a token", async () => {
    const res = await api("POST", "/api/v1/activation/", { body: { offer_id: 1 } });
    expect(res.status).toBe(401);
  });

  it("50 concurrent activations on a balance covering 10: exactly 10 accepted, balance 0, 10 ledger debits", async () => {
    const offer = await makeOffer({ price: 700 });
    const user = await createUser({ balance: 7000 });
    const responses = await Promise.all(Array.from({ length: 50 }, () => activate(user.token, { offer_id: offer.id })));
    const accepted = responses.filter((r) => r.status === 202);
    const refused = responses.filter((r) => r.status === 400);
    expect(accepted).toHaveLength(10);
    expect(refused).toHaveLength(40);
    for (const r of refused) expect(r.body.error).toBe("Insufficient balance");
    expect(new Set(accepted.map((r) => r.body.transaction_id)).size).toBe(10);
    expect(await walletState(user.id)).toEqual({ balance: 0, ledger_sum: 0, debits: 10 });
    const txs = await env.DB.prepare("SELECT COUNT(*) AS n FROM transactions WHERE user_id = ? AND type = 'ACTIVATION'").bind(user.id).first<{ n: number }>();
    expect(txs!.n).toBe(10);
  });

  it("each accepted activation's subscription writes its PENDING transaction and outbox row: of 12 concurrent requests on a balance covering 4, the refused leave none", async () => {
    const offer = await makeOffer({ price: 500 });
    const { name } = (await env.DB.prepare("SELECT name FROM offers WHERE id = ?").bind(offer.id).first<{ name: string }>())!;
    const user = await createUser({ balance: 2000 });
    // Messages dropped, so every outbox row stays for the test to see.
    const outcomes = await Promise.allSettled(Array.from({ length: 12 }, () => requestActivation(quietEnv(), { userId: user.id, offerId: offer.id })));
    const accepted = outcomes.flatMap((o) => (o.status === "fulfilled" ? [o.value.transaction_id] : []));
    expect(accepted).toHaveLength(4);
    expect(outcomes.filter((o) => o.status === "rejected" && (o.reason as { code?: string }).code === "INSUFFICIENT_BALANCE")).toHaveLength(8);

    const written = await env.DB.prepare(
      `SELECT t.id, t.type, t.status, t.amount, t.offer_id, t.description, t.created_at = s.created_at AS at_subscription, o.transaction_id AS outbox,
              o.created_at = s.created_at AS outbox_at_subscription, l.amount AS ledger_amount
         FROM transactions t LEFT JOIN subscriptions s ON s.transaction_id = t.id LEFT JOIN activation_outbox o ON o.transaction_id = t.id
         LEFT JOIN ledger_entries l ON l.transaction_id = t.id
        WHERE t.user_id = ? ORDER BY t.id`,
    )
      .bind(user.id)
      .all();
    expect(written.results).toEqual(
      accepted.sort().map((id) => ({
        id,
        type: "ACTIVATION",
        status: "PENDING",
        amount: 500,
        offer_id: offer.id,
        description: `Activation: ${name}`,
        at_subscription: 1,
        outbox: id,
        outbox_at_subscription: 1,
        ledger_amount: -500,
      })),
    );
    expect(await walletState(user.id)).toEqual({ balance: 0, ledger_sum: 0, debits: 4 });
  });

  it("the same Idempotency-Key replays the first answer with one debit; another body with it is 422", async () => {
    const user = await createUser({ balance: 10_000 });
    const offer = await makeOffer({ price: 2000 });
    const other = await makeOffer({ price: 2000 });
    const key = unique("idem-activation");
    const first = await activate(user.token, { offer_id: offer.id }, { "idempotency-key": key });
    const again = await activate(user.token, { offer_id: offer.id }, { "idempotency-key": key });
    expect(first.status).toBe(202);
    expect(again.status).toBe(202);
    expect(again.body).toEqual(first.body);
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    const mismatch = await activate(user.token, { offer_id: other.id }, { "idempotency-key": key });
    expect(mismatch.status).toBe(422);
    expect(mismatch.body.code).toBe("IDEMPOTENCY_KEY_REUSED");
    expect(await walletState(user.id)).toEqual({ balance: 8000, ledger_sum: 8000, debits: 1 });
  });

  it("concurrent requests with one Idempotency-Key debit once", async () => {
    const user = await createUser({ balance: 10_000 });
    const offer = await makeOffer({ price: 1000 });
    const key = unique("idem-race");
    const responses = await Promise.all(Array.from({ length: 8 }, () => activate(user.token, { offer_id: offer.id }, { "idempotency-key": key })));
    expect(responses.every((r) => r.status === 202 || r.status === 409)).toBe(true);
    expect((await walletState(user.id)).debits).toBe(1);
  });
});

describe("GET /api/v1/activation/status/{transaction_id}/", () => {
  it("answers the spec's fields plus amount and offer_id", async () => {
    const user = await createUser({ balance: 5000 });
    const offer = await makeOffer({ price: 2000 });
    const id = await pendingActivation(user.id, offer.id);
    const res = await api("GET", `/api/v1/activation/status/${id}/`, { token: user.token });
    expect(res.status).toBe(200);
    expect(Object.keys(res.body).sort()).toEqual(["amount", "created_at", "offer_id", "status", "transaction_id", "updated_at"]);
    expect(res.body).toMatchObject({ transaction_id: id, status: "PENDING", amount: "20.00", offer_id: offer.id });
  });

  it("is served from the Redis hash: a change made only in the hash shows", async () => {
    const user = await createUser({ balance: 5000 });
    const offer = await makeOffer();
    const id = await pendingActivation(user.id, offer.id);
    await getRedis(env)!.hset(`transaction:${id}`, { status: "SUCCESS", updated_at: "2031-01-01T00:00:00.000Z" });
    const res = await api("GET", `/api/v1/activation/status/${id}`, { token: user.token });
    expect(res.body.status).toBe("SUCCESS");
    expect(res.body.updated_at).toBe("2031-01-01T00:00:00.000Z");
  });

  it("on a hash miss reads D1 and repopulates the hash", async () => {
    const user = await createUser({ balance: 5000 });
    const offer = await makeOffer();
    const id = await pendingActivation(user.id, offer.id);
    const redis = getRedis(env)!;
    await redis.del(`transaction:${id}`);
    const res = await api("GET", `/api/v1/activation/status/${id}`, { token: user.token });
    expect(res.status).toBe(200);
    expect(res.body.status).toBe("PENDING");
    expect(hashFields(await redis.hgetall(`transaction:${id}`))).toMatchObject({ status: "PENDING", user_id: String(user.id), amount: "20.00" });
  });

  it("another user's transaction is 404 on the hash path and on the D1 path", async () => {
    const owner = await createUser({ balance: 5000 });
    const stranger = await createUser();
    const offer = await makeOffer();
    const id = await pendingActivation(owner.id, offer.id);
    const viaHash = await api("GET", `/api/v1/activation/status/${id}`, { token: stranger.token });
    expect(viaHash.status).toBe(404);
    await getRedis(env)!.del(`transaction:${id}`);
    const viaD1 = await api("GET", `/api/v1/activation/status/${id}`, { token: stranger.token });
    expect(viaD1.status).toBe(404);
    expect(isCleanError(viaD1.body)).toBe(true);
    const unknown = await api("GET", `/api/v1/activation/status/${crypto.randomUUID()}`, { token: owner.token });
    expect(unknown.status).toBe(404);
  });
});
