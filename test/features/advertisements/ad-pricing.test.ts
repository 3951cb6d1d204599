// Ads pay for the time they run: they start today or later, run at most advertisement_max_days,
// the creation fee covers advertisement_included_days and each further day pays the per-day rate.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { api, isCleanError } from "../../helpers/api";
import { createUser, walletState } from "../../helpers/factories";
import { insertMerchant, insertVoucher, dayString } from "../../helpers/voucher-factories";

const ad = (voucher: number, start_date: string, end_date: string) => ({ voucher, start_date, end_date, city: "Pune", state: "Maharashtra" });

async function advertiser(balance = 100_000) {
  const merchant = await insertMerchant({ balance });
  const voucher = await insertVoucher(merchant);
  const create = (start: string, end: string) => api("POST", "/api/v1/advertisements/", { token: merchant.user.token, body: ad(voucher.id, start, end) });
  const extend = (id: number, days: unknown) => api("POST", `/api/v1/advertisements/${id}/extend/`, { token: merchant.user.token, body: { days } });
  return { merchant, voucher, create, extend };
}

const adCount = async (merchantId: number) =>
  (await env.DB.prepare("SELECT COUNT(*) AS n FROM advertisements WHERE merchant_id = ?").bind(merchantId).first<{ n: number }>())!.n;

describe("advertisement pricing and length", () => {
  it("refuses 2000-01-01 to 9999-12-31 and any run longer than the maximum, charging nothing", async () => {
    const { merchant, create } = await advertiser();
    const past = await create("2000-01-01", "9999-12-31");
    expect(past.status).toBe(400);
    expect(past.body.error).toMatch(/start_date must be today or later/);
    const forever = await create(dayString(0), "9999-12-31");
    expect(forever.status).toBe(400);
    expect(forever.body).toMatchObject({ code: "VALIDATION_ERROR", details: { max_days: 366 } });
    expect(isCleanError(forever.body)).toBe(true);
    expect((await create(dayString(0), dayString(366))).status).toBe(400);
    expect(await adCount(merchant.merchantId)).toBe(0);
    expect((await walletState(merchant.user.id)).balance).toBe(100_000);
  });

  it("the fee covers 30 days; each further day costs the per-day rate, up to 366 days", async () => {
    const { merchant, create } = await advertiser();
    const month = await create(dayString(0), dayString(29));
    expect(month.body).toMatchObject({ days: 30, included_days: 30, extra_days: 0, cost_deducted: 10 });
    const longer = await create(dayString(1), dayString(31));
    expect(longer.body).toMatchObject({ days: 31, extra_days: 1, cost_deducted: 11 });
    const year = await create(dayString(0), dayString(365));
    expect(year.status).toBe(201);
    expect(year.body).toMatchObject({ days: 366, extra_days: 336, cost_deducted: 346 });
    expect((await walletState(merchant.user.id)).balance).toBe(100_000 - 1000 - 1100 - 34_600);
  });

  it("follows the admin's settings for included and maximum days", async () => {
    const admin = await createUser({ role: "admin" });
    const set = (body: Record<string, unknown>) => api("PATCH", "/api/v1/admin/settings/", { token: admin.token, body });
    const changed = await set({ advertisement_included_days: 5, advertisement_max_days: 10 });
    expect(changed.body).toMatchObject({ advertisement_included_days: 5, advertisement_max_days: 10 });
    try {
      const { create } = await advertiser();
      expect((await create(dayString(0), dayString(10))).body.details).toMatchObject({ max_days: 10 });
      expect((await create(dayString(0), dayString(9))).body).toMatchObject({ days: 10, extra_days: 5, cost_deducted: 15 });
      for (const body of [{ advertisement_max_days: 0 }, { advertisement_included_days: -1 }, { advertisement_max_days: 1.5 }, { advertisement_max_days: 10_000 }])
        expect((await set(body)).status).toBe(400);
    } finally {
      await set({ advertisement_included_days: 30, advertisement_max_days: 366 });
    }
  });

  it("refuses an inactive voucher, and extending an ad whose voucher was deactivated", async () => {
    const { merchant, voucher, create, extend } = await advertiser();
    const running = await create(dayString(0), dayString(5));
    await env.DB.prepare("UPDATE vouchers SET is_active = 0 WHERE id = ?").bind(voucher.id).run();
    const balance = (await walletState(merchant.user.id)).balance;
    const refused = await create(dayString(0), dayString(5));
    expect([refused.status, refused.body.code]).toEqual([400, "INACTIVE"]);
    const extended = await extend(running.body.advertisement_id, 3);
    expect([extended.status, extended.body.code]).toEqual([400, "INACTIVE"]);
    expect((await walletState(merchant.user.id)).balance).toBe(balance);
    expect(await adCount(merchant.merchantId)).toBe(1);
  });
});

describe("advertisement extension limits", () => {
  it("cannot extend past the maximum run; huge or malformed day counts are 400, never 500", async () => {
    const { merchant, create, extend } = await advertiser();
    const id = (await create(dayString(0), dayString(365))).body.advertisement_id;
    const balance = (await walletState(merchant.user.id)).balance;
    const over = await extend(id, 1);
    expect(over.status).toBe(400);
    expect(over.body.details).toMatchObject({ max_days: 366, days_available: 0 });
    for (const days of [1e12, Number.MAX_SAFE_INTEGER, -1, 0, 1.5, "99999999999", null]) {
      const res = await extend(id, days);
      expect([days, res.status]).toEqual([days, 400]);
      expect(isCleanError(res.body)).toBe(true);
    }
    expect((await walletState(merchant.user.id)).balance).toBe(balance);
  });

  it("an ad ending 9999-12-31 extends to a clear 400, not a date overflow", async () => {
    const { merchant, create, extend } = await advertiser();
    const created = await create("9999-12-01", "9999-12-31");
    expect(created.status).toBe(201);
    const balance = (await walletState(merchant.user.id)).balance;
    for (const days of [1, 365]) {
      const res = await extend(created.body.advertisement_id, days);
      expect([days, res.status, res.body.code]).toEqual([days, 400, "VALIDATION_ERROR"]);
    }
    const row = await env.DB.prepare("SELECT end_date FROM advertisements WHERE id = ?").bind(created.body.advertisement_id).first();
    expect(row).toEqual({ end_date: "9999-12-31" });
    expect((await walletState(merchant.user.id)).balance).toBe(balance);
  });

  it("concurrent extensions together stop at the maximum, and only the ones that took effect are charged", async () => {
    const { merchant, create, extend } = await advertiser();
    const id = (await create(dayString(0), dayString(359))).body.advertisement_id;
    const balance = (await walletState(merchant.user.id)).balance;
    const results = await Promise.all(Array.from({ length: 6 }, () => extend(id, 2)));
    expect(results.filter((r) => r.status === 200)).toHaveLength(3);
    for (const r of results.filter((r) => r.status !== 200)) expect([r.status, r.body.code]).toEqual([400, "VALIDATION_ERROR"]);
    const row = await env.DB.prepare("SELECT end_date FROM advertisements WHERE id = ?").bind(id).first();
    expect(row).toEqual({ end_date: dayString(365) });
    const after = await walletState(merchant.user.id);
    expect(after.balance).toBe(balance - 3 * 200);
    expect(after.balance).toBe(after.ledger_sum);
  });

  it("the database refuses an ad longer than the maximum whatever wrote it", async () => {
    const { merchant, voucher } = await advertiser();
    const now = new Date().toISOString();
    const insert = env.DB.prepare(
      "INSERT INTO advertisements (merchant_id, voucher_id, start_date, end_date, city, state, is_active, created_at, updated_at) VALUES (?, ?, ?, '9999-12-31', 'Pune', 'MH', 1, ?, ?)",
    ).bind(merchant.merchantId, voucher.id, dayString(0), now, now);
    await expect(insert.run()).rejects.toThrow(/advertisement_too_long/);
  });
});
