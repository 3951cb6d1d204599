import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { api, isCleanError } from "../../helpers/api";
import { createUser } from "../../helpers/factories";
import { insertMerchant, insertPurchase, insertVoucher, daysFromNow } from "../../helpers/voucher-factories";

const scan = (token: string, qr_data: string, prefix = "/api/v1") => api("POST", `${prefix}/merchant/scan/scan/`, { token, body: { qr_data } });

async function setup(options: Parameters<typeof insertPurchase>[2] = {}) {
  const merchant = await insertMerchant();
  const voucher = await insertVoucher(merchant);
  const customer = await createUser({ phone: "+919876543210" });
  const purchase = await insertPurchase(customer, voucher, options);
  return { merchant, voucher, customer, purchase };
}

describe("POST /merchant/scan/scan/", () => {
  it("answers the spec's voucher_details for a VCH reference", async () => {
    const { merchant, voucher, purchase } = await setup();
    const res = await scan(merchant.user.token, purchase.reference);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      message: "Voucher found and eligible for redemption",
      voucher_details: {
        id: purchase.id,
        title: voucher.title,
        voucher_type: "product",
        voucher_value: "Free Coffee (min bill: ₹0)",
        user_info: { name: "Test User", phone: "+919876543210", is_original_purchaser: true },
        purchased_at: expect.any(String),
        expiry_date: expect.any(String),
        remaining_redemptions: 1,
        purchase_reference: purchase.reference,
        redemption_id: purchase.id,
        is_gift_card: false,
      },
      can_redeem: true,
    });
  });

  it("accepts every QR form: reference (any case, padded), redemption id, redemption uuid, the QR's JSON, a link", async () => {
    const { merchant, purchase } = await setup();
    const forms = [
      `  ${purchase.reference.toLowerCase()}\n`,
      String(purchase.id),
      purchase.uuid.toUpperCase(),
      JSON.stringify({ purchase_reference: purchase.reference, redemption_id: purchase.id }),
      JSON.stringify({ redemption_id: purchase.id }),
      // The shape user-vouchers' qr_code_data has: voucher_uuid there is the purchase's UUID.
      JSON.stringify({ purchase_reference: purchase.reference, redemption_id: purchase.id, voucher_uuid: purchase.uuid }),
      JSON.stringify({ voucher_uuid: purchase.uuid }),
      `https://perks.example/v/${purchase.reference}`,
    ];
    for (const form of forms) {
      const res = await scan(merchant.user.token, form);
      expect([form, res.status, res.body.voucher_details?.redemption_id]).toEqual([form, 200, purchase.id]);
    }
  });

  it("answers at the /api/voucher alias too", async () => {
    const { merchant, purchase } = await setup();
    const res = await scan(merchant.user.token, purchase.reference, "/api/voucher");
    expect(res.status).toBe(200);
    expect(res.body.voucher_details.purchase_reference).toBe(purchase.reference);
  });

  it("refuses a bare voucher UUID with a request for the purchase QR", async () => {
    const { merchant, voucher } = await setup();
    for (const form of [voucher.uuid, JSON.stringify({ voucher_uuid: voucher.uuid })]) {
      const res = await scan(merchant.user.token, form);
      expect(res.status).toBe(400);
      expect(res.body.code).toBe("INVALID_QR_CODE");
      expect(res.body.error).toMatch(/identifies a voucher, not a purchase/);
    }
  });

  it("answers unknown or malformed data with a clean 400 and no debug_info", async () => {
    const { merchant } = await setup();
    for (const form of ["INVALID-123", "VCH-ZZZZZZZZ", "{not json", "99999999", JSON.stringify({ foo: 1 }), "' OR 1=1 --"]) {
      const res = await scan(merchant.user.token, form);
      expect([form, res.status, res.body.code]).toEqual([form, 400, "INVALID_QR_CODE"]);
      expect(isCleanError(res.body)).toBe(true);
      expect(res.body.debug_info).toBeUndefined();
    }
  });

  it.each([
    ["expired", { expiryDate: daysFromNow(-1) }, "expired"],
    ["used up", { remaining: 0, total: 2 }, "used_up"],
    ["redeemed", { remaining: 0, total: 1, status: "redeemed" }, "used_up"],
    ["cancelled", { status: "cancelled" }, "cancelled"],
    ["refunded", { status: "refunded" }, "refunded"],
  ] as const)("says why a %s purchase cannot be redeemed", async (_name, options, reason) => {
    const { merchant, purchase } = await setup(options);
    const res = await scan(merchant.user.token, purchase.reference);
    expect(res.status).toBe(200);
    expect(res.body.can_redeem).toBe(false);
    expect(res.body.reason_code).toBe(reason);
    expect(typeof res.body.reason).toBe("string");
  });

  it("tells an inactive merchant it cannot redeem (and the redeem itself is refused)", async () => {
    const { merchant, purchase } = await setup();
    await env.DB.prepare("UPDATE merchants SET is_active = 0 WHERE id = ?").bind(merchant.merchantId).run();
    const res = await scan(merchant.user.token, purchase.reference);
    expect(res.status).toBe(200);
    expect(res.body.can_redeem).toBe(false);
    expect(res.body.reason_code).toBe("merchant_inactive");
    const redeem = await api("POST", "/api/v1/merchant/scan/redeem/", { token: merchant.user.token, body: { redemption_id: purchase.id } });
    expect(redeem.status).toBe(403);
  });

  it("gives another merchant a 403 that names no merchant", async () => {
    const { merchant, purchase } = await setup();
    const other = await insertMerchant();
    for (const form of [purchase.reference, String(purchase.id), purchase.uuid]) {
      const res = await scan(other.user.token, form);
      expect(res.status).toBe(403);
      expect(res.body.error).toBe("Access denied. You can only scan vouchers from your own business.");
      expect(JSON.stringify(res.body)).not.toContain(merchant.businessName);
      expect(JSON.stringify(res.body)).not.toContain(other.businessName);
    }
  });

  it("refuses callers without a merchant profile, whatever their token's role says", async () => {
    const { purchase } = await setup();
    const user = await createUser();
    const roleOnly = await createUser({ role: "merchant" });
    for (const caller of [user, roleOnly]) {
      const res = await scan(caller.token, purchase.reference);
      expect(res.status).toBe(403);
    }
    const garbage = await scan(user.token, "garbage");
    expect(garbage.status).toBe(403);
  });

  it("needs a token and refuses unknown fields", async () => {
    expect((await api("POST", "/api/v1/merchant/scan/scan/", { body: { qr_data: "VCH-AAAAAAAA" } })).status).toBe(401);
    const { merchant, purchase } = await setup();
    const res = await api("POST", "/api/v1/merchant/scan/scan/", { token: merchant.user.token, body: { qr_data: purchase.reference, merchant: 1 } });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe("VALIDATION_ERROR");
  });
});
