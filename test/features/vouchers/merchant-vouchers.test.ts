import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { api, BASE, isCleanError } from "../../helpers/api";
import { createUser } from "../../helpers/factories";
import { createMerchantViaApi, createVoucherViaApi, percentageVoucher, purchaseViaApi, voucherRow } from "../../helpers/marketplace-api";

const PNG = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 73, 72, 68, 82, 1, 2, 3, 4]);

function form(fields: Record<string, string>, image?: Blob) {
  const data = new FormData();
  for (const [k, v] of Object.entries(fields)) data.set(k, v);
  if (image) data.set("image", image, "coffee.png");
  return data;
}

describe("merchant voucher management", () => {
  it("creates a voucher from the spec's JSON, with decimals as strings in the response", async () => {
    const merchant = await createMerchantViaApi();
    const res = await api("POST", "/api/voucher/vouchers/", {
      token: merchant.token,
      body: {
        title: "50% Off Coffee",
        message: "Get 50% off on any coffee",
        terms_conditions: "Valid only on weekdays",
        count: 100,
        voucher_type: 1,
        percentage_value: 50.0,
        percentage_min_bill: 100.0,
        is_gift_card: false,
        is_active: true,
      },
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      title: "50% Off Coffee",
      message: "Get 50% off on any coffee",
      voucher_type: 1,
      percentage_value: "50.00",
      percentage_min_bill: "100.00",
      is_gift_card: false,
      is_active: true,
      merchant: merchant.merchantId,
      category: null,
      count: 100,
      sold_count: 0,
      voucher_value: "50% off (min bill: ₹100)",
      flat_amount: null,
      image: null,
    });
    expect(typeof res.body.id).toBe("number");
  });

  it("requires the fields of the type and refuses other types' fields, naming them", async () => {
    const merchant = await createMerchantViaApi();
    const post = (body: object) => api("POST", "/api/v1/vouchers/", { token: merchant.token, body });
    const missing = await post({ title: "x", voucher_type: 1, percentage_value: "10" });
    expect(missing.status).toBe(400);
    expect(missing.body.error).toContain("percentage_min_bill");
    const foreign = await post({ title: "x", voucher_type: 2, flat_amount: "50", percentage_value: "10", product_name: "Tea" });
    expect(foreign.status).toBe(400);
    expect(foreign.body.error).toMatch(/percentage_value/);
    expect(foreign.body.details.fields).toEqual(["percentage_value", "product_name"]);
    expect((await post({ title: "x", voucher_type: 1, percentage_value: "100.01", percentage_min_bill: 0 })).status).toBe(400);
    expect((await post({ title: "x", voucher_type: 1, percentage_value: "0", percentage_min_bill: 0 })).status).toBe(400);
    expect((await post({ title: "x", voucher_type: 1, percentage_value: "12.345", percentage_min_bill: 0 })).status).toBe(400);
    expect((await post({ title: "x", voucher_type: 4 })).status).toBe(400);

    const flat = await post({ title: "₹50 off", voucher_type: 2, flat_amount: "50.50" });
    expect(flat.status).toBe(201);
    expect(flat.body).toMatchObject({ flat_amount: "50.50", flat_min_bill: "0.00", voucher_value: "₹50.50 off (min bill: ₹0)" });
    const product = await post({ title: "Free Coffee", voucher_type: 3, product_name: "Coffee", is_gift_card: true });
    expect(product.body).toMatchObject({ product_name: "Coffee", voucher_value: "Free Coffee (min bill: ₹0)", is_gift_card: true });

    for (const field of ["merchant", "sold_count", "id"]) {
      const res = await post({ ...percentageVoucher(), [field]: 1 });
      expect(res.status).toBe(400);
      expect(res.body.error).toContain(field);
    }
  });

  it("a user without a merchant profile cannot create a voucher", async () => {
    const user = await createUser();
    const res = await api("POST", "/api/v1/vouchers/", { token: user.token, body: percentageVoucher() });
    expect(res.status).toBe(403);
    expect(isCleanError(res.body)).toBe(true);
    expect((await api("POST", "/api/v1/vouchers/", { body: percentageVoucher() })).status).toBe(401);
  });

  it("accepts multipart with an image stored in R2 and served back with caching headers", async () => {
    const merchant = await createMerchantViaApi();
    const fields = { title: "Photo deal", voucher_type: "2", flat_amount: "25", count: "", is_gift_card: "false" };
    const res = await api("POST", "/api/v1/vouchers/", { token: merchant.token, raw: form(fields, new Blob([PNG], { type: "image/png" })) });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ title: "Photo deal", voucher_type: 2, flat_amount: "25.00", count: null, is_gift_card: false });
    expect(res.body.image).toMatch(/^http:\/\/perks\.test\/api\/v1\/media\/vouchers\/[0-9a-f-]{36}\.png$/);

    const path = new URL(res.body.image).pathname;
    const image = await exports.default.fetch(new Request(`${BASE}${path}`));
    expect(image.status).toBe(200);
    expect(new Uint8Array(await image.arrayBuffer())).toEqual(PNG);
    expect(image.headers.get("content-type")).toBe("image/png");
    expect(image.headers.get("cache-control")).toContain("max-age=31536000");
    const etag = image.headers.get("etag")!;
    expect((await exports.default.fetch(new Request(`${BASE}${path}`, { headers: { "if-none-match": etag } }))).status).toBe(304);
    const alias = await exports.default.fetch(new Request(`${BASE}${path.replace("/api/v1/", "/api/voucher/")}`));
    expect(alias.status).toBe(200);
    await alias.arrayBuffer();
    expect((await api("GET", "/api/v1/media/vouchers/00000000-0000-0000-0000-000000000000.png")).status).toBe(404);

    // A renamed text file is refused by its bytes, and a large image by its size.
    const fake = await api("POST", "/api/v1/vouchers/", { token: merchant.token, raw: form(fields, new Blob(["not an image"], { type: "image/png" })) });
    expect([fake.status, fake.body.code]).toEqual([415, "UNSUPPORTED_MEDIA_TYPE"]);
    const big = new Uint8Array(2 * 1024 * 1024 + 1);
    big.set(PNG);
    const large = await api("POST", "/api/v1/vouchers/", { token: merchant.token, raw: form(fields, new Blob([big])) });
    expect([large.status, large.body.code]).toEqual([413, "PAYLOAD_TOO_LARGE"]);
    const badField = await api("POST", "/api/v1/vouchers/", { token: merchant.token, raw: form({ ...fields, sold_count: "3" }) });
    expect(badField.status).toBe(400);
  });

  it("only the owner can read, change or delete a voucher; others get 404", async () => {
    const owner = await createMerchantViaApi();
    const other = await createMerchantViaApi();
    const voucher = await createVoucherViaApi(owner);
    for (const [method, body] of [["GET", undefined], ["PATCH", { title: "hijack" }], ["DELETE", undefined]] as const) {
      const res = await api(method, `/api/v1/vouchers/${voucher.id}/`, { token: other.token, body });
      expect(res.status).toBe(404);
    }
    expect((await voucherRow(voucher.id)).title).toBe(voucher.title);
    const mine = await api("GET", "/api/v1/vouchers/", { token: other.token });
    expect(mine.body.results.map((v: any) => v.id)).not.toContain(voucher.id);
    const ownerList = await api("GET", "/api/voucher/vouchers/", { token: owner.token });
    expect(ownerList.body).toMatchObject({ count: 1, next: null, previous: null });
    expect(ownerList.body.results[0].id).toBe(voucher.id);
  });

  it("PATCH changes fields and type with the same rules", async () => {
    const owner = await createMerchantViaApi();
    const voucher = await createVoucherViaApi(owner);
    const res = await api("PATCH", `/api/voucher/vouchers/${voucher.id}/`, { token: owner.token, body: { percentage_value: "20", count: 3 } });
    expect(res.body).toMatchObject({ percentage_value: "20.00", percentage_min_bill: "100.00", count: 3 });
    const wrong = await api("PATCH", `/api/v1/vouchers/${voucher.id}`, { token: owner.token, body: { flat_amount: "5" } });
    expect(wrong.status).toBe(400);
    const retyped = await api("PATCH", `/api/v1/vouchers/${voucher.id}`, { token: owner.token, body: { voucher_type: 3, product_name: "Tea" } });
    expect(retyped.body).toMatchObject({ voucher_type: 3, product_name: "Tea", percentage_value: null, percentage_min_bill: null, product_min_bill: "0.00" });
    expect((await api("PATCH", `/api/v1/vouchers/${voucher.id}`, { token: owner.token, body: { voucher_type: 2 } })).status).toBe(400);
    const fetched = await api("GET", `/api/v1/vouchers/${voucher.id}`, { token: owner.token });
    expect(fetched.body.voucher_type).toBe(3);
  });

  it("DELETE removes an unsold voucher and deactivates one with purchases, saying so", async () => {
    const owner = await createMerchantViaApi();
    const unsold = await createVoucherViaApi(owner);
    const deleted = await api("DELETE", `/api/voucher/vouchers/${unsold.id}/`, { token: owner.token });
    expect(deleted.body).toMatchObject({ deleted: true, deactivated: false });
    expect(await env.DB.prepare("SELECT id FROM vouchers WHERE id = ?").bind(unsold.id).first()).toBeNull();

    const sold = await createVoucherViaApi(owner);
    const buyer = await createUser({ balance: 5_000 });
    expect((await purchaseViaApi(buyer.token, sold.id)).status).toBe(201);
    const kept = await api("DELETE", `/api/v1/vouchers/${sold.id}`, { token: owner.token });
    expect(kept.status).toBe(200);
    expect(kept.body).toMatchObject({ deleted: false, deactivated: true, voucher: { id: sold.id, is_active: false } });
    expect(kept.body.message).toMatch(/deactivated instead of deleted/);
  });
});

describe("statistics and popular", () => {
  it("aggregates the merchant's purchases and redemptions with the documented score", async () => {
    const merchant = await createMerchantViaApi();
    const a = await createVoucherViaApi(merchant, { redemptions_per_purchase: 2 });
    const b = await createVoucherViaApi(merchant);
    const buyers = await Promise.all([1, 2, 3].map(() => createUser({ balance: 10_000 })));
    const bought = [];
    for (const buyer of buyers) bought.push((await purchaseViaApi(buyer.token, a.id)).body.redemption_id);
    const bPurchase = await purchaseViaApi(buyers[0]!.token, b.id);
    await api("POST", "/api/v1/voucher-purchase/cancel/", { token: buyers[0]!.token, body: { redemption_id: bPurchase.body.redemption_id } });
    // Two units of one purchase of `a` redeemed (as the scan feature would record them).
    await env.DB.prepare("UPDATE voucher_redemptions SET remaining_redemptions = 0, purchase_status = 'redeemed' WHERE id = ?").bind(bought[0]).run();

    const stats = await api("GET", "/api/voucher/vouchers/statistics/", { token: merchant.token });
    expect(stats.status).toBe(200);
    expect(stats.body).toMatchObject({
      total_vouchers: 2,
      total_purchases: 3,
      total_redemptions: 2,
      redemption_rate: 66.7,
      recent_activity: { purchases_last_30_days: 3, redemptions_last_30_days: 0 },
    });
    // Three buyers, one of whom redeemed (both units): 2 × 3 + 1.
    expect(stats.body.top_performing_vouchers[0]).toEqual({ id: a.id, title: a.title, purchase_count: 3, redemption_count: 1, popularity_score: 7 });
    expect(stats.body.top_performing_vouchers[1]).toMatchObject({ id: b.id, purchase_count: 0, popularity_score: 0 });

    const popular = await api("GET", "/api/voucher/vouchers/popular/", { token: merchant.token });
    expect(popular.status).toBe(200);
    expect(popular.body.message).toBe("Popular vouchers based on purchase and redemption activity");
    const entry = popular.body.popular_vouchers.find((v: any) => v.id === a.id);
    expect(entry).toEqual({
      id: a.id,
      title: a.title,
      merchant: merchant.businessName,
      purchase_count: 3,
      redemption_count: 1,
      popularity_score: 7,
      voucher_type: "percentage",
      category: null,
      image: null,
    });
    expect(popular.body.total_count).toBe(popular.body.popular_vouchers.length);
    const user = await createUser();
    expect((await api("GET", "/api/v1/vouchers/statistics/", { token: user.token })).status).toBe(403);
  });
});
