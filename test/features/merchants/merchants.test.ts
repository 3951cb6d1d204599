import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { api } from "../../helpers/api";
import { createUser, unique } from "../../helpers/factories";
import { createMerchantViaApi, createVoucherViaApi, percentageVoucher, purchaseViaApi } from "../../helpers/marketplace-api";

describe("merchant profile", () => {
  it("makes the caller a merchant, returns fresh tokens, and answers at both path forms", async () => {
    const user = await createUser();
    const res = await api("POST", "/api/voucher/merchants/profile/", {
      token: user.token,
      body: { business_name: "Coffee Shop", category: "Food & Beverage", phone: "+919876543210", address: "1 MG Road", city: "Mumbai", state: "Maharashtra" },
    });
    expect(res.status).toBe(201);
    expect(res.body.merchant).toMatchObject({ user: user.id, business_name: "Coffee Shop", city: "Mumbai", is_active: true });
    const role = await env.DB.prepare("SELECT role FROM users WHERE id = ?").bind(user.id).first<{ role: string }>();
    expect(role!.role).toBe("merchant");
    const profile = await api("GET", "/api/v1/auth/profile", { token: res.body.access });
    expect(profile.body.role).toBe("merchant");

    // The old token (role user) still works for merchant endpoints: the profile row decides.
    expect((await api("GET", "/api/v1/merchants/profile", { token: user.token })).body.business_name).toBe("Coffee Shop");
    const patched = await api("PATCH", "/api/voucher/merchants/profile/", { token: user.token, body: { city: "Pune" } });
    expect(patched.body.city).toBe("Pune");
    expect((await api("PATCH", "/api/v1/merchants/profile/", { token: user.token, body: { is_active: false } })).status).toBe(400);
    expect((await api("POST", "/api/v1/merchants/profile/", { token: user.token, body: { business_name: "Again" } })).status).toBe(409);
  });

  it("an admin keeps the admin role; a plain user has no merchant profile (403)", async () => {
    const admin = await createUser({ role: "admin" });
    await api("POST", "/api/v1/merchants/profile/", { token: admin.token, body: { business_name: unique("Admin shop ") } });
    expect((await env.DB.prepare("SELECT role FROM users WHERE id = ?").bind(admin.id).first<{ role: string }>())!.role).toBe("admin");
    const user = await createUser();
    expect((await api("GET", "/api/v1/merchants/profile/", { token: user.token })).status).toBe(403);
  });

  it("admin deactivation stops the merchant's vouchers from listing and selling; activation restores them", async () => {
    const merchant = await createMerchantViaApi();
    const voucher = await createVoucherViaApi(merchant);
    const admin = await createUser({ role: "admin" });
    const buyer = await createUser({ balance: 5_000 });

    expect((await api("POST", `/api/v1/admin/merchants/${merchant.merchantId}/deactivate`, { token: buyer.token })).status).toBe(403);
    const off = await api("POST", `/api/voucher/admin/merchants/${merchant.merchantId}/deactivate/`, { token: admin.token });
    expect([off.status, off.body.is_active]).toEqual([200, false]);
    const listed = await api("GET", `/api/v1/public-vouchers/?merchant=${merchant.merchantId}`);
    expect(listed.body.count).toBe(0);
    const refused = await purchaseViaApi(buyer.token, voucher.id);
    expect([refused.status, refused.body.code]).toEqual([400, "INACTIVE"]);
    expect((await api("POST", "/api/v1/vouchers/", { token: merchant.token, body: percentageVoucher() })).status).toBe(403);

    await api("POST", `/api/v1/admin/merchants/${merchant.merchantId}/activate`, { token: admin.token });
    expect((await api("GET", `/api/v1/public-vouchers/?merchant=${merchant.merchantId}`)).body.count).toBe(1);
    expect((await purchaseViaApi(buyer.token, voucher.id)).status).toBe(201);
    expect((await api("POST", "/api/v1/admin/merchants/999999/deactivate", { token: admin.token })).status).toBe(404);
  });
});
