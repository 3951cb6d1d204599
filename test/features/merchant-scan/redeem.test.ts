import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { api } from "../../helpers/api";
import { createUser } from "../../helpers/factories";
import { insertMerchant, insertPurchase, insertVoucher, eventCount, redemptionRow, daysFromNow } from "../../helpers/voucher-factories";

const redeem = (token: string, body: Record<string, unknown>, headers?: Record<string, string>, prefix = "/api/v1") =>
  api("POST", `${prefix}/merchant/scan/redeem/`, { token, body, headers });

async function setup(options: Parameters<typeof insertPurchase>[2] = {}) {
  const merchant = await insertMerchant();
  const voucher = await insertVoucher(merchant);
  const customer = await createUser();
  const purchase = await insertPurchase(customer, voucher, options);
  return { merchant, voucher, customer, purchase };
}

describe("POST /merchant/scan/redeem/", () => {
  it("takes the quantity, records who/where/when, and answers the spec's fields", async () => {
    const { merchant, voucher, purchase } = await setup({ remaining: 3 });
    const res = await redeem(merchant.user.token, { redemption_id: purchase.id, location: "Main Store", notes: "Happy customer", quantity: 2 });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      message: "Voucher redeemed successfully",
      voucher_title: voucher.title,
      user_name: "Test User",
      redeemed_at: expect.any(String),
      redemption_location: "Main Store",
      purchase_reference: purchase.reference,
      quantity_redeemed: 2,
      remaining_redemptions: 1,
      merchant_name: merchant.businessName,
      transaction_id: expect.stringMatching(new RegExp(`^RDM-${purchase.id}-\\d{14}-`)),
    });
    const event = await env.DB.prepare("SELECT * FROM redemption_events WHERE reference = ?").bind(res.body.transaction_id).first<any>();
    expect(event).toMatchObject({ redemption_id: purchase.id, merchant_id: merchant.merchantId, redeemed_by: merchant.user.id, quantity: 2, remaining_after: 1, location: "Main Store", notes: "Happy customer" });
    expect((await redemptionRow(purchase.id)).purchase_status).toBe("purchased");

    const last = await redeem(merchant.user.token, { redemption_id: purchase.id, quantity: 1 }, undefined, "/api/voucher");
    expect(last.status).toBe(200);
    expect(last.body.remaining_redemptions).toBe(0);
    expect((await redemptionRow(purchase.id)).purchase_status).toBe("redeemed");
  });

  it("20 concurrent redeems of the last use: exactly one succeeds and one event is recorded", async () => {
    const { merchant, purchase } = await setup({ remaining: 1, total: 3 });
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => redeem(merchant.user.token, { redemption_id: purchase.id, location: `Till ${i}`, quantity: 1 })),
    );
    expect(results.filter((r) => r.status === 200)).toHaveLength(1);
    for (const r of results.filter((r) => r.status !== 200)) expect([400, 409]).toContain(r.status);
    expect(await eventCount(purchase.id)).toBe(1);
    const row = await redemptionRow(purchase.id);
    expect(row.remaining_redemptions).toBe(0);
    expect(row.purchase_status).toBe("redeemed");
  });

  it("never redeems more than remains, concurrently with several uses left", async () => {
    const { merchant, purchase } = await setup({ remaining: 5 });
    const results = await Promise.all(Array.from({ length: 12 }, () => redeem(merchant.user.token, { redemption_id: purchase.id, quantity: 2 })));
    expect(results.filter((r) => r.status === 200)).toHaveLength(2);
    expect((await redemptionRow(purchase.id)).remaining_redemptions).toBe(1);
    expect(await eventCount(purchase.id)).toBe(2);
  });

  it("refuses a quantity above what remains, and records nothing", async () => {
    const { merchant, purchase } = await setup({ remaining: 2 });
    const res = await redeem(merchant.user.token, { redemption_id: purchase.id, quantity: 3 });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe("NOT_REDEEMABLE");
    expect((await redemptionRow(purchase.id)).remaining_redemptions).toBe(2);
    expect(await eventCount(purchase.id)).toBe(0);
  });

  it.each([
    ["expired", "expired", { expiryDate: daysFromNow(-1) }],
    ["cancelled", "cancelled", { status: "cancelled" }],
    ["refunded", "refunded", { status: "refunded" }],
    ["used up", "used_up", { remaining: 0, total: 1, status: "redeemed" }],
  ] as const)("refuses a %s purchase with the reason and changes nothing", async (_name, reasonCode, options) => {
    const { merchant, purchase } = await setup(options);
    const before = await redemptionRow(purchase.id);
    const res = await redeem(merchant.user.token, { redemption_id: purchase.id, quantity: 1 });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe("NOT_REDEEMABLE");
    expect(res.body.details.reason_code).toBe(reasonCode);
    expect(await redemptionRow(purchase.id)).toEqual(before);
    expect(await eventCount(purchase.id)).toBe(0);
  });

  it("merchant B redeeming merchant A's purchase gets 403 and changes nothing", async () => {
    const { purchase } = await setup({ remaining: 2 });
    const other = await insertMerchant();
    const before = await redemptionRow(purchase.id);
    const res = await redeem(other.user.token, { redemption_id: purchase.id, quantity: 1 });
    expect(res.status).toBe(403);
    expect(res.body.error).toBe("Access denied. You can only scan vouchers from your own business.");
    expect(await redemptionRow(purchase.id)).toEqual(before);
    expect(await eventCount(purchase.id)).toBe(0);
  });

  it("replays the first answer for a repeated Idempotency-Key and redeems once", async () => {
    const { merchant, purchase } = await setup({ remaining: 3 });
    const headers = { "Idempotency-Key": `redeem-${purchase.id}-key` };
    const first = await redeem(merchant.user.token, { redemption_id: purchase.id, quantity: 1 }, headers);
    const second = await redeem(merchant.user.token, { redemption_id: purchase.id, quantity: 1 }, headers);
    expect(first.status).toBe(200);
    expect(second.status).toBe(200);
    expect(second.headers.get("idempotent-replayed")).toBe("true");
    expect(second.body.transaction_id).toBe(first.body.transaction_id);
    expect((await redemptionRow(purchase.id)).remaining_redemptions).toBe(2);
    expect(await eventCount(purchase.id)).toBe(1);
  });

  it("validates the body strictly", async () => {
    const { merchant, purchase } = await setup();
    for (const body of [{ redemption_id: purchase.id, quantity: 0 }, { redemption_id: purchase.id, remaining_redemptions: 9 }, { quantity: 1 }]) {
      const res = await redeem(merchant.user.token, body);
      expect(res.status).toBe(400);
    }
    expect((await redeem(merchant.user.token, { redemption_id: 99_999_999 })).status).toBe(404);
  });
});
