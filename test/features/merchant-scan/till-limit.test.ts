import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { referenceCode } from "../../../src/lib/ids";
import { api, type ApiResponse } from "../../helpers/api";
import { createUser } from "../../helpers/factories";
import { withinOneRateWindow } from "../../helpers/rate-window";
import { eventCount, insertMerchant, insertPurchase, insertVoucher, redemptionRow, type InsertedMerchant } from "../../helpers/voucher-factories";

// The real SCAN_LIMITER binding (wrangler.toml: 120 a minute per merchant user). Miniflare aligns its
// windows to the wall clock, so every test that counts up to the limit starts early in a window.
const LIMIT = 120;

const scan = (token: string, qr_data: string) => api("POST", "/api/v1/merchant/scan/scan/", { token, body: { qr_data } });
const redeem = (token: string, redemption_id: number, headers?: Record<string, string>) =>
  api("POST", "/api/v1/merchant/scan/redeem/", { token, body: { redemption_id, quantity: 1, location: "Till 1" }, headers });
const all = <T>(n: number, call: (i: number) => Promise<T>) => Promise.all(Array.from({ length: n }, (_, i) => call(i)));
const statusCounts = (answers: ApiResponse[]) => {
  const counts: Record<number, number> = {};
  for (const { status } of answers) counts[status] = (counts[status] ?? 0) + 1;
  return counts;
};

type Shop = Awaited<ReturnType<typeof shop>>;

async function shop(remaining = 1) {
  const merchant = await insertMerchant();
  const voucher = await insertVoucher(merchant, { title: `Secret Scone ${crypto.randomUUID().slice(0, 6)}` });
  const customer = await createUser({ phone: "+919800000001" });
  const purchase = await insertPurchase(customer, voucher, { remaining });
  return { merchant, voucher, customer, purchase };
}

/** Uses up the merchant's allowance with misses, answered 400 each. */
async function useUpAllowance(merchant: InsertedMerchant) {
  const misses = await all(LIMIT, () => scan(merchant.user.token, referenceCode("VCH")));
  expect(statusCounts(misses)).toEqual({ 400: LIMIT });
}

/** Past the allowance: the next miss is the one the binding refuses, which blocks the merchant. */
async function block(merchant: InsertedMerchant) {
  await useUpAllowance(merchant);
  expect((await scan(merchant.user.token, referenceCode("VCH"))).status).toBe(429);
}

/** The usual 429, with nothing of the purchase (or of any lookup) in it. */
function expectBareRefusal(res: ApiResponse, secrets: string[]) {
  expect(res.status).toBe(429);
  expect(res.headers.get("retry-after")).toBe("60");
  expect(res.body.code).toBe("RATE_LIMITED");
  expect(Object.keys(res.body).sort()).toEqual(["code", "error", "request_id"]);
  for (const secret of [...secrets, "voucher_details"]) expect(JSON.stringify(res.body)).not.toContain(secret);
}

describe("the till's failure-charged limit", () => {
  it("never charges a scan that finds the caller's own purchase by its reference, UUID or QR JSON: 220 at once are all 200", async () => {
    await withinOneRateWindow();
    const merchant = await insertMerchant();
    const voucher = await insertVoucher(merchant);
    const customer = await createUser();
    const purchases = await all(11, () => insertPurchase(customer, voucher));
    const forms = purchases.flatMap((p) => [p.reference, p.uuid, JSON.stringify({ purchase_reference: p.reference, redemption_id: p.id })]);
    const answers = await all(220, (i) => scan(merchant.user.token, forms[i % forms.length]!));
    expect(statusCounts(answers)).toEqual({ 200: 220 });
    // Nothing was charged: the whole allowance is still there for misses.
    await useUpAllowance(merchant);
    expect((await scan(merchant.user.token, referenceCode("VCH"))).status).toBe(429);
  });

  it("charges misses: 130 at once are 120 refusals of the code and 10 × 429, then even a correct code is 429 with nothing of it", async () => {
    await withinOneRateWindow();
    const { merchant, voucher, purchase } = await shop();
    const answers = await all(130, () => scan(merchant.user.token, referenceCode("VCH")));
    expect(statusCounts(answers)).toEqual({ 400: LIMIT, 429: 10 });
    for (const res of answers.filter((r) => r.status === 400)) expect(res.body.code).toBe("INVALID_QR_CODE");
    const secrets = [purchase.reference, purchase.uuid, voucher.title, "Test User", "+919800000001"];
    for (const res of answers.filter((r) => r.status === 429)) expectBareRefusal(res, secrets);
    // Blocked for the window: every form of a real code, and garbage, answer the same bare 429.
    for (const form of [purchase.reference, purchase.uuid, JSON.stringify({ purchase_reference: purchase.reference }), String(purchase.id), "garbage"])
      expectBareRefusal(await scan(merchant.user.token, form), secrets);
    // ...and a redeem of that purchase is refused before its batch: nothing redeemed, no event.
    expectBareRefusal(await redeem(merchant.user.token, purchase.id), secrets);
    expect((await redemptionRow(purchase.id)).remaining_redemptions).toBe(1);
    expect(await eventCount(purchase.id)).toBe(0);
  });

  it("does not touch another merchant: its own codes, misses and redeems are answered while the first is blocked", async () => {
    await withinOneRateWindow();
    const blocked = await shop();
    const other = await shop();
    await block(blocked.merchant);
    expect((await scan(blocked.merchant.user.token, blocked.purchase.reference)).status).toBe(429);
    expect((await scan(other.merchant.user.token, other.purchase.reference)).status).toBe(200);
    expect((await scan(other.merchant.user.token, referenceCode("VCH"))).status).toBe(400);
    // The blocked merchant's code scanned by the other business is still just "not yours".
    expect((await scan(other.merchant.user.token, blocked.purchase.reference)).status).toBe(403);
    expect((await redeem(other.merchant.user.token, other.purchase.id)).status).toBe(200);
  });

  it("charges every lookup by a redemption id, found or not: 120 of them, then the next scan of a real reference is 429", async () => {
    await withinOneRateWindow();
    const { merchant, purchase } = await shop();
    const answers = await all(LIMIT, (i) => scan(merchant.user.token, i % 2 ? String(purchase.id) : JSON.stringify({ redemption_id: purchase.id })));
    expect(statusCounts(answers)).toEqual({ 200: LIMIT });
    expectBareRefusal(await scan(merchant.user.token, String(purchase.id)), [purchase.reference]);
    expectBareRefusal(await scan(merchant.user.token, purchase.reference), [purchase.reference]);
  });

  it("charges every other failure: another business's code, an unclaimed gift card, a voucher UUID, garbage", async () => {
    await withinOneRateWindow();
    const { merchant, voucher, customer, purchase } = await shop();
    const other = await shop();
    const giftVoucher = await insertVoucher(merchant, { giftCard: true });
    const giftPurchase = await insertPurchase(customer, giftVoucher);
    const claimReference = referenceCode("GFT");
    await env.DB.prepare(
      "INSERT INTO gift_card_shares (source_redemption_id, voucher_id, sharer_id, recipient_phone, claim_reference, created_at) VALUES (?, ?, ?, '+919800000002', ?, ?)",
    )
      .bind(giftPurchase.id, giftVoucher.id, customer.id, claimReference, new Date().toISOString())
      .run();
    const failures: [string, number][] = [
      [other.purchase.reference, 403],
      [claimReference, 400],
      [voucher.uuid, 400],
      ["garbage", 400],
    ];
    const answers = await all(LIMIT, (i) => scan(merchant.user.token, failures[i % failures.length]![0]));
    expect(statusCounts(answers)).toEqual({ 400: 90, 403: 30 });
    // Each kind counted: the next failure of any kind is the one refused, and the merchant is blocked.
    expectBareRefusal(await scan(merchant.user.token, claimReference), [claimReference, giftVoucher.title]);
    expectBareRefusal(await scan(merchant.user.token, purchase.reference), [purchase.reference, voucher.title]);
  });

  it("charges a non-merchant's scans, which learn nothing either way", async () => {
    await withinOneRateWindow();
    const { purchase } = await shop();
    const stranger = await createUser();
    const answers = await all(LIMIT, (i) => scan(stranger.token, i % 2 ? purchase.reference : "garbage"));
    expect(statusCounts(answers)).toEqual({ 403: LIMIT });
    expect(new Set(answers.map((r) => r.body.error)).size).toBe(1);
    expectBareRefusal(await scan(stranger.token, purchase.reference), [purchase.reference]);
  });

  it("charges redeems that tell whether an id exists (404 unknown, 403 another business's); a blocked merchant's redeem is 429 and redeems nothing", async () => {
    await withinOneRateWindow();
    const { merchant, voucher, purchase } = await shop(3);
    const other = await shop();
    const unknownId = other.purchase.id + 1_000_000;
    const answers = await all(LIMIT, (i) => redeem(merchant.user.token, i % 2 ? unknownId : other.purchase.id));
    expect(statusCounts(answers)).toEqual({ 403: 60, 404: 60 });
    const secrets = [purchase.reference, voucher.title, merchant.businessName, other.merchant.businessName];
    // The next unknown id is the one the binding refuses: 429, not 404.
    expectBareRefusal(await redeem(merchant.user.token, unknownId), secrets);
    const key = `till-limit-${crypto.randomUUID()}`;
    expectBareRefusal(await redeem(merchant.user.token, purchase.id, { "Idempotency-Key": key }), secrets);
    expect((await redemptionRow(purchase.id)).remaining_redemptions).toBe(3);
    expect(await eventCount(purchase.id)).toBe(0);
    // Refused before its Idempotency-Key was claimed: the key is still free for the retry after the wait.
    const stored = await env.DB.prepare("SELECT COUNT(*) AS n FROM idempotency_keys WHERE scope LIKE ?").bind(`%:${key}`).first<{ n: number }>();
    expect(stored!.n).toBe(0);
    // One limit for the till: the scan is blocked too.
    expectBareRefusal(await scan(merchant.user.token, purchase.reference), secrets);
    expect((await redeem(other.merchant.user.token, other.purchase.id)).status).toBe(200);
  });

  it("a redeem the limit refuses after it answered keeps that answer for its Idempotency-Key, never the 429", async () => {
    await withinOneRateWindow();
    const { merchant, purchase } = await shop();
    await useUpAllowance(merchant);
    const key = `till-limit-${crypto.randomUUID()}`;
    expectBareRefusal(await redeem(merchant.user.token, purchase.id + 1_000_000, { "Idempotency-Key": key }), [purchase.reference]);
    const stored = await env.DB.prepare("SELECT response_status FROM idempotency_keys WHERE scope LIKE ?").bind(`%:${key}`).all<{ response_status: number }>();
    expect(stored.results).toEqual([{ response_status: 404 }]);
  });

  it("does not charge successful redeems: 130 at once all redeem", async () => {
    await withinOneRateWindow();
    const { merchant, purchase } = await shop(130);
    const answers = await all(130, () => redeem(merchant.user.token, purchase.id));
    expect(statusCounts(answers)).toEqual({ 200: 130 });
    expect((await redemptionRow(purchase.id)).remaining_redemptions).toBe(0);
    expect(await eventCount(purchase.id)).toBe(130);
  });

  it.each([
    ["another business's code (403)", (m: InsertedMerchant, own: number, theirs: Shop) => scan(m.user.token, theirs.purchase.reference)],
    ["another business's redeem (403)", (m: InsertedMerchant, own: number, theirs: Shop) => redeem(m.user.token, theirs.purchase.id)],
    ["an unknown redeem (404)", (m: InsertedMerchant, own: number) => redeem(m.user.token, own + 1_000_000)],
    ["the caller's own purchase by id (200)", (m: InsertedMerchant, own: number) => scan(m.user.token, String(own))],
  ] as const)("past the allowance, %s is answered 429 instead, with nothing of it", async (_name, attempt) => {
    await withinOneRateWindow();
    const { merchant, voucher, purchase } = await shop();
    const theirs = await shop();
    await useUpAllowance(merchant);
    const secrets = [purchase.reference, voucher.title, theirs.purchase.reference, theirs.voucher.title, theirs.merchant.businessName];
    expectBareRefusal(await attempt(merchant, purchase.id, theirs), secrets);
    expect((await redemptionRow(theirs.purchase.id)).remaining_redemptions).toBe(1);
  });
});
