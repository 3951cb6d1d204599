import { describe, expect, it } from "vitest";
import { api } from "../helpers/api";
import { createUser, unique } from "../helpers/factories";
import { createMerchantViaApi, createVoucherViaApi, purchaseViaApi } from "../helpers/marketplace-api";

const withoutVolatile = (body: any) => JSON.parse(JSON.stringify(body, (key, value) => (key === "request_id" ? undefined : value)));

describe("every voucher endpoint answers at /api/v1/... and at the spec's /api/voucher/...", () => {
  it("GET endpoints give the same answer at both forms", async () => {
    const merchant = await createMerchantViaApi();
    const voucher = await createVoucherViaApi(merchant);
    const buyer = await createUser({ balance: 5_000 });
    const bought = await purchaseViaApi(buyer.token, voucher.id);
    const gets: [string, string | undefined][] = [
      ["merchants/profile/", merchant.token],
      ["categories/", undefined],
      ["vouchers/", merchant.token],
      [`vouchers/${voucher.id}/`, merchant.token],
      ["vouchers/statistics/", merchant.token],
      ["vouchers/popular/", merchant.token],
      [`public-vouchers/?merchant=${merchant.merchantId}`, buyer.token],
      ["public-vouchers/featured/", undefined],
      ["public-vouchers/trending/", undefined],
      [`public-vouchers/${voucher.id}/`, buyer.token],
      ["user-vouchers/", buyer.token],
      [`user-vouchers/${bought.body.redemption_id}/qr-code/`, buyer.token],
      [`user-vouchers/${bought.body.redemption_id}/qr-code.svg`, buyer.token],
    ];
    for (const [path, token] of gets) {
      const v1 = await api("GET", `/api/v1/${path}`, { token });
      const alias = await api("GET", `/api/voucher/${path}`, { token });
      expect(v1.status, path).toBe(200);
      expect(alias.status, path).toBe(200);
      expect(withoutVolatile(alias.body), path).toEqual(withoutVolatile(v1.body));
    }
  });

  it("admin category and merchant management at the spec's form", async () => {
    const admin = await createUser({ role: "admin" });
    const merchant = await createMerchantViaApi();
    const category = await api("POST", "/api/voucher/categories/", { token: admin.token, body: { name: unique("Alias ") } });
    expect((await api("PATCH", `/api/voucher/categories/${category.body.id}/`, { token: admin.token, body: { description: "x" } })).body.description).toBe("x");
    expect((await api("DELETE", `/api/voucher/categories/${category.body.id}/`, { token: admin.token })).body.deleted).toBe(true);
    expect((await api("POST", `/api/voucher/admin/merchants/${merchant.merchantId}/deactivate/`, { token: admin.token })).body.is_active).toBe(false);
    expect((await api("POST", `/api/voucher/admin/merchants/${merchant.merchantId}/activate/`, { token: admin.token })).body.is_active).toBe(true);
  });
});
