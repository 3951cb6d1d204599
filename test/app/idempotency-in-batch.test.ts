// Writes with an Idempotency-Key whose claim and stored answer commit in the write's own D1 batch
// (the wallet object's, with the money, or a redeem's), instead of two round trips of their own.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { interceptD1, postWithEnv, roundTripDb } from "../helpers/worker-env";
import { createUser, walletState } from "../helpers/factories";
import { sha256Hex } from "../../src/lib/crypto";
import { eventCount, insertMerchant, insertPurchase, insertVoucher, redemptionRow } from "../helpers/voucher-factories";
import { createMerchantViaApi, createVoucherViaApi } from "../helpers/marketplace-api";
import { makeOffer } from "../helpers/offer-factories";

/** The worker with a D1 binding that records every statement the request itself (not the wallet object) prepares. */
function recordingDb() {
  const prepared: string[] = [];
  const db = interceptD1(env.DB, (target, property) => (property === "prepare" ? (sql: string) => (prepared.push(sql), target.prepare(sql)) : undefined));
  return { db, prepared };
}

const post = (db: D1Database, path: string, token: string, body: unknown, key?: string) =>
  postWithEnv({ ...env, DB: db }, path, { token, body, headers: key ? { "idempotency-key": key } : undefined });

const storedKey = (scope: string) =>
  env.DB.prepare("SELECT state, response_status, response_body FROM idempotency_keys WHERE scope = ?").bind(scope).first<{ state: string; response_status: number; response_body: string }>();

describe("Idempotency-Key in the wallet's batch", () => {
  it("a purchase claims and stores its answer in the wallet's batch: the request writes no key row itself, and a replay gives the same answer", async () => {
    const merchant = await createMerchantViaApi();
    const voucher = await createVoucherViaApi(merchant);
    const buyer = await createUser({ balance: 10_000 });
    const key = `batch-${crypto.randomUUID()}`;
    const { db, prepared } = recordingDb();

    const first = await post(db, "/api/v1/voucher-purchase/purchase/", buyer.token, { voucher_id: voucher.id }, key);
    expect(first.status).toBe(201);
    expect(prepared.filter((sql) => sql.includes("idempotency_keys"))).toEqual([]);
    const stored = await storedKey(`${buyer.id}:POST:/api/v1/voucher-purchase/purchase:${key}`);
    expect(stored).toMatchObject({ state: "done", response_status: 201 });
    // The row id and the balance after were filled in by the batch itself.
    expect(JSON.parse(stored!.response_body)).toEqual(first.body);
    expect(first.body.remaining_balance).toBe(90);

    const replay = await post(db, "/api/v1/voucher-purchase/purchase/", buyer.token, { voucher_id: voucher.id }, key);
    expect(replay.status).toBe(201);
    expect(replay.headers.get("idempotent-replayed")).toBe("true");
    expect(replay.body).toEqual(first.body);
    expect(await walletState(buyer.id)).toEqual({ balance: 9_000, ledger_sum: 9_000, debits: 1 });
  });

  it("an activation stores its answer in the batch; a concurrent burst with one key debits once and every 202 has that answer", async () => {
    const user = await createUser({ balance: 10_000 });
    const offer = await makeOffer({ price: 1000 });
    const key = `batch-${crypto.randomUUID()}`;
    const { db, prepared } = recordingDb();
    const answers = await Promise.all(Array.from({ length: 6 }, () => post(db, "/api/v1/activation/", user.token, { offer_id: offer.id }, key)));
    expect(answers.map((a) => a.status)).toEqual(Array(6).fill(202));
    expect(answers.filter((a) => a.headers.get("idempotent-replayed") !== "true")).toHaveLength(1);
    expect(new Set(answers.map((a) => a.body.transaction_id)).size).toBe(1);
    expect(prepared.filter((sql) => sql.includes("idempotency_keys"))).toEqual([]);
    expect(await walletState(user.id)).toEqual({ balance: 9_000, ledger_sum: 9_000, debits: 1 });
  });

  it("an answer given before the wallet (unknown voucher, too little balance) is stored once and replayed, and moves nothing", async () => {
    const merchant = await createMerchantViaApi();
    const voucher = await createVoucherViaApi(merchant);
    const poor = await createUser({ balance: 500 });
    const { db } = recordingDb();

    const missingKey = `batch-${crypto.randomUUID()}`;
    const missing = await post(db, "/api/v1/voucher-purchase/purchase/", poor.token, { voucher_id: voucher.id + 100_000 }, missingKey);
    expect(missing.status).toBe(404);
    const again = await post(db, "/api/v1/voucher-purchase/purchase/", poor.token, { voucher_id: voucher.id + 100_000 }, missingKey);
    expect(again.status).toBe(404);
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    expect(again.body).toEqual(missing.body);

    const poorKey = `batch-${crypto.randomUUID()}`;
    const refused = await post(db, "/api/v1/voucher-purchase/purchase/", poor.token, { voucher_id: voucher.id }, poorKey);
    expect(refused.status).toBe(400);
    expect(refused.body.code).toBe("INSUFFICIENT_BALANCE");
    const other = await post(db, "/api/v1/voucher-purchase/purchase/", poor.token, { voucher_id: voucher.id + 1 }, poorKey);
    expect(other.status).toBe(422);
    expect(await walletState(poor.id)).toEqual({ balance: 500, ledger_sum: 500, debits: 0 });
  });
});

const REDEEM = "/api/v1/merchant/scan/redeem/";
const redeemScope = (userId: number, key: string) => `${userId}:POST:/api/v1/merchant/scan/redeem:${key}`;

async function redeemable(remaining: number) {
  const merchant = await insertMerchant();
  const voucher = await insertVoucher(merchant);
  const purchase = await insertPurchase(await createUser(), voucher, { remaining });
  return { merchant, purchase };
}

describe("Idempotency-Key in a redeem's batch", () => {
  it("a redeem with a key is one batch: the claim, the redeem, the answer's fields and the stored answer commit together, and a replay gives that answer", async () => {
    const { merchant, purchase } = await redeemable(3);
    const key = `redeem-${crypto.randomUUID()}`;
    const { db, trips } = roundTripDb();
    const first = await post(db, REDEEM, merchant.user.token, { redemption_id: purchase.id, quantity: 2, location: "Till 1" }, key);
    expect(first.status).toBe(200);
    expect(first.body.remaining_redemptions).toBe(1);
    // Besides the per-isolate "is this user active" check (cached after this first call), one batch.
    const own = trips.filter((t) => !t.sql[0]!.startsWith("SELECT is_active"));
    expect(own.map((t) => t.kind)).toEqual(["batch"]);
    // Four statements: the claim, the guarded decrement, the event, and the stored answer (made from
    // the event by one query and returned by the store, so the batch reads no answer of its own).
    const batch = own[0]!.sql;
    expect(batch).toHaveLength(4);
    expect(batch[0]).toMatch(/^INSERT INTO idempotency_keys/);
    expect(batch[1]).toMatch(/^UPDATE voucher_redemptions/);
    expect(batch[2]).toMatch(/^\s*INSERT INTO redemption_events/);
    expect(batch[3]).toMatch(/^UPDATE idempotency_keys SET state = 'done'.*RETURNING response_body$/s);
    const stored = await storedKey(redeemScope(merchant.user.id, key));
    expect(stored).toMatchObject({ state: "done", response_status: 200 });
    // The remaining count was filled in by the batch itself.
    expect(JSON.parse(stored!.response_body)).toEqual(first.body);

    const replay = await post(db, REDEEM, merchant.user.token, { redemption_id: purchase.id, quantity: 2, location: "Till 1" }, key);
    expect(replay.status).toBe(200);
    expect(replay.headers.get("idempotent-replayed")).toBe("true");
    expect(replay.body).toEqual(first.body);
    const other = await post(db, REDEEM, merchant.user.token, { redemption_id: purchase.id, quantity: 1 }, key);
    expect(other.status).toBe(422);
    expect((await redemptionRow(purchase.id)).remaining_redemptions).toBe(1);
    expect(await eventCount(purchase.id)).toBe(1);
  });

  it("a redeem without a key is one batch of three: the decrement, the event and the answer made from it", async () => {
    const { merchant, purchase } = await redeemable(3);
    const { db, trips } = roundTripDb();
    const res = await post(db, REDEEM, merchant.user.token, { redemption_id: purchase.id, quantity: 1, location: "Till 2" });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ remaining_redemptions: 2, purchase_reference: purchase.reference, redemption_location: "Till 2", quantity_redeemed: 1 });
    const own = trips.filter((t) => !t.sql[0]!.startsWith("SELECT is_active"));
    expect(own.map((t) => t.kind)).toEqual(["batch"]);
    expect(own[0]!.sql).toHaveLength(3);
    expect(own[0]!.sql[2]).toMatch(/^SELECT json_set\(/);
    expect(await eventCount(purchase.id)).toBe(1);
  });

  it("a concurrent burst with one key redeems once, and every answer is the first's", async () => {
    const { merchant, purchase } = await redeemable(5);
    const key = `redeem-${crypto.randomUUID()}`;
    const answers = await Promise.all(Array.from({ length: 8 }, () => post(env.DB, REDEEM, merchant.user.token, { redemption_id: purchase.id, quantity: 1 }, key)));
    expect(answers.map((a) => a.status)).toEqual(Array(8).fill(200));
    expect(answers.filter((a) => a.headers.get("idempotent-replayed") !== "true")).toHaveLength(1);
    expect(new Set(answers.map((a) => a.body.transaction_id)).size).toBe(1);
    expect(answers.every((a) => a.body.remaining_redemptions === 4)).toBe(true);
    expect((await redemptionRow(purchase.id)).remaining_redemptions).toBe(4);
    expect(await eventCount(purchase.id)).toBe(1);
  });

  it("a redeem whose guarded write changes nothing (another till was first) stores its refusal, not the success answer", async () => {
    const { merchant, purchase } = await redeemable(1);
    const key = `redeem-${crypto.randomUUID()}`;
    // Just before this request's batch, another till takes the last use.
    const { db } = roundTripDb(() => env.DB.prepare("UPDATE voucher_redemptions SET remaining_redemptions = 0 WHERE id = ?").bind(purchase.id).run());
    const lost = await post(db, REDEEM, merchant.user.token, { redemption_id: purchase.id, quantity: 1 }, key);
    expect(lost.status).toBe(400);
    expect(lost.body).toMatchObject({ code: "NOT_REDEEMABLE", details: { reason_code: "used_up" } });
    expect(await storedKey(redeemScope(merchant.user.id, key))).toMatchObject({ state: "done", response_status: 400 });
    const replay = await post(env.DB, REDEEM, merchant.user.token, { redemption_id: purchase.id, quantity: 1 }, key);
    expect(replay.status).toBe(400);
    expect(replay.headers.get("idempotent-replayed")).toBe("true");
    expect(await eventCount(purchase.id)).toBe(0);
  });

  it("a claim left by a redeem that died is taken over by its retry after the timeout, which redeems once", async () => {
    const { merchant, purchase } = await redeemable(2);
    const key = `redeem-${crypto.randomUUID()}`;
    const body = { redemption_id: purchase.id, quantity: 1 };
    const longAgo = new Date(Date.now() - 10 * 60_000).toISOString();
    await env.DB.prepare("INSERT INTO idempotency_keys (scope, request_hash, state, claimed_at, claim_token) VALUES (?, ?, 'in_progress', ?, 'dead-request')")
      .bind(redeemScope(merchant.user.id, key), await sha256Hex(JSON.stringify(body)), longAgo)
      .run();
    const retry = await post(env.DB, REDEEM, merchant.user.token, body, key);
    expect(retry.status).toBe(200);
    expect(retry.body.remaining_redemptions).toBe(1);
    expect(await storedKey(redeemScope(merchant.user.id, key))).toMatchObject({ state: "done", response_status: 200 });
    expect(await eventCount(purchase.id)).toBe(1);
  });
});
