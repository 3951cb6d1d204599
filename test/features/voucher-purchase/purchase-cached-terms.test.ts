// A purchase prices the voucher from the per-isolate read cache and sells in one D1 round trip
// (the wallet's batch), which refuses terms that changed behind the cache. Here the cache is on
// (the suite runs with it off), and every change is made straight in D1, as another isolate would.
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import { readCacheClock } from "../../../src/lib/read-cache";
import { isCleanError } from "../../helpers/api";
import { createUser, walletState } from "../../helpers/factories";
import { countD1RoundTrips } from "../../helpers/d1-round-trips";
import { postWithEnv } from "../../helpers/worker-env";
import { insertMerchant, insertVoucher, type InsertedVoucher } from "../../helpers/voucher-factories";
import { voucherRow } from "../../helpers/marketplace-api";

const COST = 1000; // site setting voucher_cost: 10 points
const cacheEnv = { ...env, READ_CACHE_SECONDS: "10" };
let now = Date.now();
readCacheClock.now = () => now;
afterEach(async () => {
  now += 3_600_000; // every test starts with nothing cached
  await setVoucherCost(COST);
});

const purchase = (token: string, voucherId: number, headers: Record<string, string> = {}) =>
  postWithEnv(cacheEnv, "/api/v1/voucher-purchase/purchase/", { token, body: { voucher_id: voucherId }, headers });

const setVoucherCost = (cost: number) =>
  env.DB.prepare("INSERT INTO site_settings (key, value, updated_at) VALUES ('voucher_cost', ?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value")
    .bind(String(cost), new Date().toISOString())
    .run();

const purchasesOf = async (voucherId: number) =>
  (await env.DB.prepare("SELECT COUNT(*) AS n FROM voucher_redemptions WHERE voucher_id = ?").bind(voucherId).first<{ n: number }>())!.n;

/** A voucher on sale, its terms in this isolate's cache (a first buyer bought it). */
async function warmVoucher(options: { count?: number } = {}) {
  const merchant = await insertMerchant();
  const voucher = await insertVoucher(merchant, { count: options.count ?? null });
  const first = await createUser({ balance: 10_000 });
  const warm = await purchase(first.token, voucher.id);
  expect(warm.status).toBe(201);
  return { merchant, voucher };
}

/** Nothing of a refused purchase stays: the buyer's money, the stock and the purchase rows are as before. */
async function expectNothingSold(buyer: { id: number }, balance: number, voucher: InsertedVoucher, sold: number) {
  expect(await walletState(buyer.id)).toEqual({ balance, ledger_sum: balance, debits: 0 });
  expect((await voucherRow(voucher.id)).sold_count).toBe(sold);
  expect(await purchasesOf(voucher.id)).toBe(sold);
}

describe("purchase at cached terms", () => {
  it("warm, a purchase is one D1 round trip: the wallet's batch, with the guarded purchase row in it", async () => {
    const { voucher } = await warmVoucher();
    const buyer = await createUser({ balance: 10_000 });
    await purchase(buyer.token, voucher.id + 1_000_000); // warms this buyer's "is the user active" check, which is not the purchase's
    const { result, trips } = await countD1RoundTrips(() => purchase(buyer.token, voucher.id, { "Idempotency-Key": `one-trip-${buyer.id}` }));
    expect(result.status).toBe(201);
    expect(result.body).toMatchObject({ voucher_title: voucher.title, purchase_cost: 10, remaining_balance: 90 });
    expect(trips).toHaveLength(1);
    expect(trips[0]!.some((sql) => sql.startsWith("INSERT INTO voucher_redemptions"))).toBe(true);
    expect(await walletState(buyer.id)).toEqual({ balance: 9_000, ledger_sum: 9_000, debits: 1 });
  });

  it.each([
    ["deactivated", "UPDATE vouchers SET is_active = 0 WHERE id = ?", 400, "INACTIVE"],
    ["its merchant deactivated", "UPDATE merchants SET is_active = 0 WHERE id = (SELECT merchant_id FROM vouchers WHERE id = ?)", 400, "INACTIVE"],
    ["expired", `UPDATE vouchers SET valid_until = '${new Date(Date.now() - 60_000).toISOString()}' WHERE id = ?`, 400, "EXPIRED"],
    ["not on sale yet", `UPDATE vouchers SET valid_from = '${new Date(Date.now() + 86_400_000).toISOString()}' WHERE id = ?`, 400, "INACTIVE"],
    ["sold out", "UPDATE vouchers SET count = sold_count WHERE id = ?", 400, "SOLD_OUT"],
  ])("a voucher %s behind the cache is refused with its own error, and nothing is sold", async (_change, sql, status, code) => {
    const { voucher } = await warmVoucher();
    await env.DB.prepare(sql).bind(voucher.id).run();
    const buyer = await createUser({ balance: 10_000 });
    const res = await purchase(buyer.token, voucher.id);
    expect([res.status, res.body.code]).toEqual([status, code]);
    expect(isCleanError(res.body)).toBe(true);
    await expectNothingSold(buyer, 10_000, voucher, 1);
  });

  it("a poor buyer of a voucher deactivated behind the cache is told it is not on sale, not that the balance is short", async () => {
    const { voucher } = await warmVoucher();
    await env.DB.prepare("UPDATE vouchers SET is_active = 0 WHERE id = ?").bind(voucher.id).run();
    const poor = await createUser({ balance: 500 });
    const res = await purchase(poor.token, voucher.id);
    expect([res.status, res.body.code]).toEqual([400, "INACTIVE"]);
    await expectNothingSold(poor, 500, voucher, 1);
    // Still short of money on a voucher that is on sale: the balance answer, as before.
    const onSale = await warmVoucher();
    const short = await purchase(poor.token, onSale.voucher.id);
    expect(short.body).toMatchObject({ code: "INSUFFICIENT_BALANCE", details: { balance: "5.00", required: "10.00" } });
  });

  it("a price raised behind the cache is charged and answered at the new price, never the cached one", async () => {
    const { voucher } = await warmVoucher();
    await setVoucherCost(1500);
    const buyer = await createUser({ balance: 10_000 });
    const res = await purchase(buyer.token, voucher.id);
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ purchase_cost: 15, remaining_balance: 85 });
    expect(await walletState(buyer.id)).toEqual({ balance: 8_500, ledger_sum: 8_500, debits: 1 });
    const row = await env.DB.prepare("SELECT purchase_cost FROM voucher_redemptions WHERE id = ?").bind(res.body.redemption_id).first<{ purchase_cost: number }>();
    expect(row!.purchase_cost).toBe(1500);
    const tx = await env.DB.prepare("SELECT amount FROM transactions WHERE id = ?").bind(res.body.transaction_id).first<{ amount: number }>();
    expect(tx!.amount).toBe(1500);
    // The fresh terms went back into the cache: the next buyer is one round trip again.
    const next = await createUser({ balance: 10_000 });
    await purchase(next.token, voucher.id + 1_000_000);
    const { result, trips } = await countD1RoundTrips(() => purchase(next.token, voucher.id));
    expect(result.body.purchase_cost).toBe(15);
    expect(trips).toHaveLength(1);
  });

  it("a price lowered behind the cache sells to a buyer who can pay the new price but not the cached one", async () => {
    const { voucher } = await warmVoucher();
    await setVoucherCost(400);
    const buyer = await createUser({ balance: 500 });
    const res = await purchase(buyer.token, voucher.id);
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ purchase_cost: 4, remaining_balance: 1 });
    expect(await walletState(buyer.id)).toEqual({ balance: 100, ledger_sum: 100, debits: 1 });
  });

  it("a title or validity changed behind the cache is what the purchase answers and records", async () => {
    const { voucher } = await warmVoucher();
    const until = new Date(Date.now() + 3 * 86_400_000).toISOString();
    await env.DB.prepare("UPDATE vouchers SET title = 'Renamed deal', valid_until = ?, redemptions_per_purchase = 3 WHERE id = ?").bind(until, voucher.id).run();
    const buyer = await createUser({ balance: 10_000 });
    const res = await purchase(buyer.token, voucher.id);
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ voucher_title: "Renamed deal", expiry_date: until });
    const row = await env.DB.prepare("SELECT total_redemptions FROM voucher_redemptions WHERE id = ?").bind(res.body.redemption_id).first<{ total_redemptions: number }>();
    expect(row!.total_redemptions).toBe(3);
    const tx = await env.DB.prepare("SELECT description FROM transactions WHERE id = ?").bind(res.body.transaction_id).first<{ description: string }>();
    expect(tx!.description).toBe("Voucher purchase: Renamed deal");
  });

  it("a replay of a purchase after the voucher changed answers the first answer and sells nothing more", async () => {
    const { voucher } = await warmVoucher();
    const buyer = await createUser({ balance: 10_000 });
    const headers = { "Idempotency-Key": `replay-after-change-${buyer.id}` };
    const first = await purchase(buyer.token, voucher.id, headers);
    expect(first.status).toBe(201);
    await setVoucherCost(2000);
    await env.DB.prepare("UPDATE vouchers SET is_active = 0 WHERE id = ?").bind(voucher.id).run();
    const replay = await purchase(buyer.token, voucher.id, headers);
    expect(replay.status).toBe(201);
    expect(replay.headers.get("idempotent-replayed")).toBe("true");
    expect(replay.body).toEqual(first.body);
    expect(await walletState(buyer.id)).toEqual({ balance: 9_000, ledger_sum: 9_000, debits: 1 });
    expect((await voucherRow(voucher.id)).sold_count).toBe(2);
  });

  it("40 concurrent purchases on one wallet of a voucher with 12 left: exactly 12 sold, the rest sold out, money and stock agree", async () => {
    const { voucher } = await warmVoucher({ count: 13 });
    const buyer = await createUser({ balance: 30_000 });
    const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => purchase(buyer.token, voucher.id, { "Idempotency-Key": `stock-${i}-${buyer.id}` })));
    expect(answers.filter((a) => a.status === 201)).toHaveLength(12);
    for (const refused of answers.filter((a) => a.status !== 201)) expect([refused.status, refused.body.code]).toEqual([400, "SOLD_OUT"]);
    expect(await walletState(buyer.id)).toEqual({ balance: 18_000, ledger_sum: 18_000, debits: 12 });
    expect((await voucherRow(voucher.id)).sold_count).toBe(13);
    expect(await purchasesOf(voucher.id)).toBe(13);
  });

  it("40 concurrent purchases on one wallet that can pay for 7, stock 20, deactivated halfway: at most 7 sold, each answer exact, money and stock agree", async () => {
    const { voucher } = await warmVoucher({ count: 21 });
    const buyer = await createUser({ balance: 7 * COST + 500 });
    const burst = (from: number) => Array.from({ length: 20 }, (_, i) => purchase(buyer.token, voucher.id, { "Idempotency-Key": `funds-${from + i}-${buyer.id}` }));
    const firstHalf = await Promise.all(burst(0));
    await env.DB.prepare("UPDATE vouchers SET is_active = 0 WHERE id = ?").bind(voucher.id).run();
    const secondHalf = await Promise.all(burst(20));

    const sold = firstHalf.filter((a) => a.status === 201);
    expect(sold).toHaveLength(7);
    for (const refused of firstHalf.filter((a) => a.status !== 201)) expect(refused.body).toMatchObject({ code: "INSUFFICIENT_BALANCE", details: { balance: "5.00", required: "10.00" } });
    // Behind the cache the voucher still looks on sale; every one of these is told the truth.
    for (const refused of secondHalf) expect([refused.status, refused.body.code]).toEqual([400, "INACTIVE"]);
    expect(sold.map((a) => a.body.remaining_balance).sort((a, b) => a - b)).toEqual([5, 15, 25, 35, 45, 55, 65]);
    expect(await walletState(buyer.id)).toEqual({ balance: 500, ledger_sum: 500, debits: 7 });
    expect((await voucherRow(voucher.id)).sold_count).toBe(8);
    expect(await purchasesOf(voucher.id)).toBe(8);
  });
});
