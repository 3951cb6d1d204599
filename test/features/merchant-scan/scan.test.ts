import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { api, isCleanError } from "../../helpers/api";
import { createUser } from "../../helpers/factories";
import { insertMerchant, insertPurchase, insertVoucher, daysFromNow, type InsertedMerchant, type InsertedVoucher } from "../../helpers/voucher-factories";

const scan = (token: string, qr_data: string, prefix = "/api/v1") => api("POST", `${prefix}/merchant/scan/scan/`, { token, body: { qr_data } });

async function setup(options: Parameters<typeof insertPurchase>[2] = {}) {
  const merchant = await insertMerchant();
  const voucher = await insertVoucher(merchant);
  const customer = await createUser({ phone: "+919876543210" });
  const purchase = await insertPurchase(customer, voucher, options);
  return { merchant, voucher, customer, purchase };
}

/** A voucher of another kind than the factory's free coffee: its purchases freeze these terms. */
async function insertValuedVoucher(merchant: InsertedMerchant, columns: Record<string, number | string | null>): Promise<InsertedVoucher> {
  const now = new Date().toISOString();
  const uuid = crypto.randomUUID();
  const title = `Valued ${uuid.slice(0, 8)}`;
  const names = Object.keys(columns);
  const row = await env.DB.prepare(
    `INSERT INTO vouchers (uuid, merchant_id, title, ${names.join(", ")}, redemptions_per_purchase, is_gift_card, is_active, created_at, updated_at)
     VALUES (?, ?, ?, ${names.map(() => "?").join(", ")}, 1, 0, 1, ?, ?) RETURNING id`,
  )
    .bind(uuid, merchant.merchantId, title, ...Object.values(columns), now, now)
    .first<{ id: number }>();
  return { id: row!.id, uuid, title, merchantId: merchant.merchantId };
}

async function named<T extends { id: number }>(user: T, firstName: string, lastName: string): Promise<T> {
  await env.DB.prepare("UPDATE users SET first_name = ?, last_name = ? WHERE id = ?").bind(firstName, lastName, user.id).run();
  return user;
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

  it("answers every state with the whole answer: the reason's sentence, the holder and the value's summary", async () => {
    const merchant = await insertMerchant();
    const voucher = await insertVoucher(merchant);
    const buyer = await named(await createUser({ phone: "+919811111111" }), "Asha", "Rao");
    const expiry = daysFromNow(30);
    const eligible = { message: "Voucher found and eligible for redemption", can_redeem: true };
    const refused = (reason_code: string, reason: string) => ({ message: "Voucher found but it cannot be redeemed", can_redeem: false, reason_code, reason });
    const cases: [string, Parameters<typeof insertPurchase>[2], object, Partial<Record<string, unknown>>][] = [
      ["redeemable", { remaining: 2, total: 3 }, eligible, { remaining_redemptions: 2 }],
      ["used up", { remaining: 0, total: 2 }, refused("used_up", "This voucher has no redemptions left."), { remaining_redemptions: 0 }],
      ["redeemed", { remaining: 0, total: 1, status: "redeemed" }, refused("used_up", "This voucher has no redemptions left."), { remaining_redemptions: 0 }],
      ["expired by date", { expiryDate: daysFromNow(-1) }, refused("expired", "This voucher has expired."), {}],
      ["marked expired", { status: "expired" }, refused("expired", "This voucher has expired."), {}],
      ["cancelled", { status: "cancelled" }, refused("cancelled", "This voucher purchase was cancelled."), {}],
      ["refunded", { status: "refunded" }, refused("refunded", "This voucher purchase was refunded."), {}],
    ];
    for (const [name, options, verdict, details] of cases) {
      const purchase = await insertPurchase(buyer, voucher, { expiryDate: expiry, ...options });
      const res = await scan(merchant.user.token, purchase.reference);
      const { purchased_at, expiry_date } = (await env.DB.prepare("SELECT purchased_at, expiry_date FROM voucher_redemptions WHERE id = ?").bind(purchase.id).first<{ purchased_at: string; expiry_date: string }>())!;
      expect([name, res.status, res.body]).toEqual([
        name,
        200,
        {
          ...verdict,
          voucher_details: {
            id: purchase.id,
            title: voucher.title,
            voucher_type: "product",
            voucher_value: "Free Coffee (min bill: ₹0)",
            user_info: { name: "Asha Rao", phone: "+919811111111", is_original_purchaser: true },
            purchased_at,
            expiry_date,
            remaining_redemptions: 1,
            purchase_reference: purchase.reference,
            redemption_id: purchase.id,
            is_gift_card: false,
            ...details,
          },
        },
      ]);
    }
  });

  it("shows a gift card's holder (no name: the username), not its buyer, and says it is a gift", async () => {
    const { merchant, voucher, purchase } = await setup();
    const holder = await named(await createUser(), "", "");
    // A claimed gift card is a purchase of its own, held by the recipient.
    await env.DB.prepare("UPDATE voucher_redemptions SET user_id = ?, is_gift_voucher = 1 WHERE id = ?").bind(holder.id, purchase.id).run();
    const res = await scan(merchant.user.token, purchase.reference);
    expect(res.status).toBe(200);
    expect(res.body.can_redeem).toBe(true);
    expect(res.body.voucher_details).toMatchObject({
      title: voucher.title,
      user_info: { name: holder.username, phone: null, is_original_purchaser: false },
      is_gift_card: true,
    });
  });

  it("summarises each kind of value the way the purchase froze it", async () => {
    const merchant = await insertMerchant();
    const buyer = await createUser();
    const kinds: [Record<string, number | string | null>, string, string][] = [
      [{ voucher_type: 1, percentage_value: 5000, percentage_min_bill: 10000 }, "percentage", "50% off (min bill: ₹100)"],
      [{ voucher_type: 1, percentage_value: 1250, percentage_min_bill: null }, "percentage", "12.50% off (min bill: ₹0)"],
      [{ voucher_type: 2, flat_amount: 5005, flat_min_bill: 20000 }, "flat", "₹50.05 off (min bill: ₹200)"],
      [{ voucher_type: 3, product_name: "Muffin", product_min_bill: 999 }, "product", "Free Muffin (min bill: ₹9.99)"],
    ];
    for (const [columns, type, value] of kinds) {
      const voucher = await insertValuedVoucher(merchant, columns);
      const purchase = await insertPurchase(buyer, voucher);
      // Edited after the sale: the till still shows what was bought.
      await env.DB.prepare("UPDATE vouchers SET percentage_value = 100, flat_amount = 100, product_name = 'Tea' WHERE id = ?").bind(voucher.id).run();
      const res = await scan(merchant.user.token, purchase.reference);
      expect([res.status, res.body.voucher_details?.voucher_type, res.body.voucher_details?.voucher_value]).toEqual([200, type, value]);
    }
  });

  it("answers another business's code with the same 403 whatever its state, and never a detail of it", async () => {
    const owner = await insertMerchant();
    const voucher = await insertVoucher(owner);
    const customer = await named(await createUser(), "Hidden", "Holder");
    const other = await insertMerchant();
    const answers = new Set<string>();
    for (const options of [{}, { remaining: 0, total: 1 }, { status: "cancelled" }, { expiryDate: daysFromNow(-1) }]) {
      const purchase = await insertPurchase(customer, voucher, options);
      for (const form of [purchase.reference, String(purchase.id), purchase.uuid]) {
        const res = await scan(other.user.token, form);
        expect(res.status).toBe(403);
        answers.add(JSON.stringify({ ...res.body, request_id: undefined }));
        for (const secret of [purchase.reference, voucher.title, "Hidden", owner.businessName]) expect(JSON.stringify(res.body)).not.toContain(secret);
      }
    }
    expect(answers.size).toBe(1);
    expect(JSON.parse([...answers][0]!)).toEqual({ error: "Access denied. You can only scan vouchers from your own business.", code: "FORBIDDEN" });
  });
});
