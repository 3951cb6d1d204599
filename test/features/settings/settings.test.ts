import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { api } from "../../helpers/api";
import { createUser } from "../../helpers/factories";

describe("admin site settings", () => {
  it("reads the costs in points and stores edits in minor units", async () => {
    const admin = await createUser({ role: "admin" });
    const read = await api("GET", "/api/v1/admin/settings/", { token: admin.token });
    expect(read.status).toBe(200);
    expect(read.body).toMatchObject({ voucher_cost: 10, advertisement_cost: 10, advertisement_extension_cost_per_day: 1 });

    const patch = await api("PATCH", "/api/v1/admin/settings", { token: admin.token, body: { advertisement_cost: "12.50", voucher_cost: 15 } });
    expect(patch.status).toBe(200);
    expect(patch.body).toMatchObject({ voucher_cost: 15, advertisement_cost: 12.5, advertisement_extension_cost_per_day: 1 });
    const stored = await env.DB.prepare("SELECT value FROM site_settings WHERE key = 'advertisement_cost'").first<{ value: string }>();
    expect(stored!.value).toBe("1250");
    await api("PATCH", "/api/v1/admin/settings", { token: admin.token, body: { advertisement_cost: "10.00", voucher_cost: "10.00" } });
  });

  it("is admin only", async () => {
    const [user, merchant] = await Promise.all([createUser(), createUser({ role: "merchant" })]);
    for (const caller of [user, merchant]) {
      expect((await api("GET", "/api/v1/admin/settings/", { token: caller.token })).status).toBe(403);
      expect((await api("PATCH", "/api/v1/admin/settings/", { token: caller.token, body: { voucher_cost: "0.01" } })).status).toBe(403);
    }
    expect((await api("GET", "/api/v1/admin/settings/")).status).toBe(401);
    const stored = await env.DB.prepare("SELECT value FROM site_settings WHERE key = 'voucher_cost'").first<{ value: string }>();
    expect(stored!.value).toBe("1000");
  });

  it("refuses unknown keys, negative or over-precise values, and empty bodies", async () => {
    const admin = await createUser({ role: "admin" });
    for (const body of [{ signup_bonus: "5" }, { voucher_cost: "-1" }, { voucher_cost: "1.234" }, {}]) {
      const res = await api("PATCH", "/api/v1/admin/settings/", { token: admin.token, body });
      expect([JSON.stringify(body), res.status]).toEqual([JSON.stringify(body), 400]);
    }
  });
});
