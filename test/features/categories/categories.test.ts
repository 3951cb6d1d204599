import { describe, expect, it } from "vitest";
import { api } from "../../helpers/api";
import { createUser, unique } from "../../helpers/factories";
import { createMerchantViaApi, createVoucherViaApi, percentageVoucher } from "../../helpers/marketplace-api";

describe("categories", () => {
  it("are public to read and managed by admins only", async () => {
    const admin = await createUser({ role: "admin" });
    const user = await createUser();
    const name = unique("Food ");
    expect((await api("POST", "/api/v1/categories/", { token: user.token, body: { name } })).status).toBe(403);
    const created = await api("POST", "/api/voucher/categories/", { token: admin.token, body: { name, description: "Eat" } });
    expect(created.status).toBe(201);
    expect((await api("POST", "/api/v1/categories/", { token: admin.token, body: { name } })).status).toBe(409);
    const list = await api("GET", "/api/voucher/categories/");
    expect(list.body.results.map((c: any) => c.name)).toContain(name);

    const patched = await api("PATCH", `/api/v1/categories/${created.body.id}/`, { token: admin.token, body: { description: "Drink" } });
    expect(patched.body.description).toBe("Drink");

    const merchant = await createMerchantViaApi();
    await createVoucherViaApi(merchant, { category: created.body.id });
    const kept = await api("DELETE", `/api/v1/categories/${created.body.id}/`, { token: admin.token });
    expect(kept.body).toMatchObject({ deleted: false, category: { is_active: false } });
    expect((await api("GET", "/api/v1/categories/")).body.results.map((c: any) => c.id)).not.toContain(created.body.id);
    // An inactive category cannot be chosen for a new voucher.
    expect((await api("POST", "/api/v1/vouchers/", { token: merchant.token, body: percentageVoucher({ category: created.body.id }) })).status).toBe(400);

    const lonely = await api("POST", "/api/v1/categories/", { token: admin.token, body: { name: unique("Lonely ") } });
    const gone = await api("DELETE", `/api/v1/categories/${lonely.body.id}`, { token: admin.token });
    expect(gone.body.deleted).toBe(true);
  });
});
