import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { api, isCleanError } from "../../helpers/api";
import { createUser } from "../../helpers/factories";
import { insertMerchant, insertPurchase, insertVoucher, daysFromNow } from "../../helpers/voucher-factories";

const redeem = (token: string, body: Record<string, unknown>) => api("POST", "/api/v1/merchant/scan/redeem/", { token, body });
const list = (token: string, query = "") => api("GET", `/api/v1/merchant/scan/redemptions${query}`, { token });

async function shopWithRedemptions() {
  const merchant = await insertMerchant();
  const voucher = await insertVoucher(merchant);
  const customer = await createUser();
  const purchase = await insertPurchase(customer, voucher, { remaining: 5 });
  const first = await redeem(merchant.user.token, { redemption_id: purchase.id, location: "Front till", quantity: 2 });
  const second = await redeem(merchant.user.token, { redemption_id: purchase.id, location: "Back till", notes: "birthday" });
  expect([first.status, second.status]).toEqual([200, 200]);
  return { merchant, voucher, customer, purchase, first: first.body, second: second.body };
}

describe("GET /merchant/scan/redemptions", () => {
  it("lists today's redemptions of the caller's business, newest first, with who, what and where", async () => {
    const { merchant, voucher, purchase, first, second } = await shopWithRedemptions();
    const res = await list(merchant.user.token);
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(res.body.count).toBe(2);
    expect(res.body.results.map((r: any) => r.transaction_id)).toEqual([second.transaction_id, first.transaction_id]);
    expect(res.body.results[1]).toEqual({
      transaction_id: first.transaction_id,
      redeemed_at: first.redeemed_at,
      quantity: 2,
      remaining_after: 3,
      location: "Front till",
      notes: "",
      redemption_id: purchase.id,
      purchase_reference: purchase.reference,
      voucher_title: voucher.title,
      user_name: "Test User",
      redeemed_by: merchant.user.username,
    });
  });

  it("never shows another business's redemptions", async () => {
    const mine = await shopWithRedemptions();
    const theirs = await shopWithRedemptions();
    const res = await list(mine.merchant.user.token);
    const references = res.body.results.map((r: any) => r.transaction_id);
    expect(references).toContain(mine.first.transaction_id);
    expect(references).not.toContain(theirs.first.transaction_id);
    expect(references).not.toContain(theirs.second.transaction_id);
  });

  it("filters by location and by since (yesterday's are not today's)", async () => {
    const { merchant, purchase, second } = await shopWithRedemptions();
    const yesterday = daysFromNow(-1);
    await env.DB.prepare(
      "INSERT INTO redemption_events (reference, redemption_id, merchant_id, redeemed_by, quantity, remaining_after, location, created_at) VALUES (?, ?, ?, ?, 1, 4, 'Back till', ?)",
    )
      .bind(`RDM-old-${purchase.id}`, purchase.id, merchant.merchantId, merchant.user.id, yesterday)
      .run();

    const back = await list(merchant.user.token, "?location=Back%20till");
    expect(back.body.results.map((r: any) => r.transaction_id)).toEqual([second.transaction_id]);
    const since = encodeURIComponent(new Date(Date.parse(yesterday) - 60_000).toISOString());
    const both = await list(merchant.user.token, `?location=Back%20till&since=${since}`);
    expect(both.body.results.map((r: any) => r.transaction_id)).toEqual([second.transaction_id, `RDM-old-${purchase.id}`]);
    // An offset in `since` is honoured (a till sends its local midnight).
    const offset = await list(merchant.user.token, `?since=${encodeURIComponent("2000-01-01T00:00:00+05:30")}`);
    expect(offset.body.count).toBe(3);
  });

  it("paginates with the count of the whole day", async () => {
    const { merchant, first, second } = await shopWithRedemptions();
    const one = await list(merchant.user.token, "?page_size=1");
    expect(one.body).toMatchObject({ count: 2, previous: null, results: [{ transaction_id: second.transaction_id }] });
    expect(one.body.next).toContain("page=2");
    const two = await list(merchant.user.token, "?page_size=1&page=2");
    expect(two.body).toMatchObject({ count: 2, next: null, results: [{ transaction_id: first.transaction_id }] });
    const beyond = await list(merchant.user.token, "?page_size=1&page=9");
    expect(beyond.body).toMatchObject({ count: 2, results: [] });
  });

  it("refuses a customer (403), a missing token (401) and a malformed since (400), each in the one error shape", async () => {
    const customer = await createUser();
    const forbidden = await list(customer.token);
    expect(forbidden.status).toBe(403);
    const anonymous = await api("GET", "/api/v1/merchant/scan/redemptions");
    expect(anonymous.status).toBe(401);
    const { merchant } = await shopWithRedemptions();
    const bad = await list(merchant.user.token, "?since=yesterday");
    expect(bad.status).toBe(400);
    for (const res of [forbidden, anonymous, bad]) expect(isCleanError(res.body)).toBe(true);
  });
});
