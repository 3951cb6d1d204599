import { env } from "cloudflare:workers";
import { createScheduledController } from "cloudflare:test";
import worker from "../../../src/index";
import { describe, expect, it } from "vitest";
import { CRON } from "../../../src/cron/schedules";
import { api } from "../../helpers/api";
import { createUser, walletState } from "../../helpers/factories";
import { insertMerchant, insertVoucher, dayString, type InsertedMerchant } from "../../helpers/voucher-factories";

const PNG = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 73, 72, 68, 82]);

function adBody(voucher: number, overrides: Record<string, unknown> = {}) {
  return { voucher, start_date: dayString(0), end_date: dayString(10), city: "Pune", state: "Maharashtra", ...overrides };
}

/** Creates an ad for `voucher` as a multipart form with `banner` as its banner_image. */
function postAdWithBanner(merchant: InsertedMerchant, voucherId: number, banner: File, overrides: Record<string, unknown> = {}) {
  const form = new FormData();
  for (const [k, v] of Object.entries(adBody(voucherId, overrides))) form.set(k, String(v));
  form.set("banner_image", banner);
  return api("POST", "/api/v1/advertisements/", { token: merchant.user.token, raw: form });
}

async function ledgerOf(userId: number) {
  const { results } = await env.DB.prepare("SELECT amount, note, transaction_id FROM ledger_entries WHERE user_id = ? AND amount < 0 ORDER BY id").bind(userId).all<any>();
  return results;
}

describe("creating an advertisement", () => {
  it("charges advertisement_cost to the merchant's wallet with the spec's note, in the same batch as the ad", async () => {
    const merchant = await insertMerchant({ balance: 10_000 });
    const voucher = await insertVoucher(merchant, { title: "50% Off Coffee" });
    const res = await api("POST", "/api/v1/advertisements/", { token: merchant.user.token, body: adBody(voucher.id) });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({
      message: "Advertisement created successfully",
      advertisement_id: expect.any(Number),
      voucher_title: "50% Off Coffee",
      days: 11,
      included_days: 30,
      extra_days: 0,
      cost_deducted: 10,
      remaining_balance: 90,
      transaction_note: "Advertisement Creation: 50% Off Coffee",
    });
    const ledger = await ledgerOf(merchant.user.id);
    expect(ledger).toEqual([{ amount: -1000, note: "Advertisement Creation: 50% Off Coffee", transaction_id: expect.any(String) }]);
    const tx = await env.DB.prepare("SELECT type, amount FROM transactions WHERE id = ?").bind(ledger[0].transaction_id).first<any>();
    expect(tx).toEqual({ type: "ADVERTISEMENT", amount: 1000 });
    const state = await walletState(merchant.user.id);
    expect(state.balance).toBe(9000);
    expect(state.balance).toBe(state.ledger_sum);
  });

  it("fails cleanly on insufficient balance: 400, nothing created, nothing charged", async () => {
    const merchant = await insertMerchant({ balance: 999 });
    const voucher = await insertVoucher(merchant);
    const res = await api("POST", "/api/v1/advertisements/", { token: merchant.user.token, body: adBody(voucher.id) });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe("INSUFFICIENT_BALANCE");
    const ads = await env.DB.prepare("SELECT COUNT(*) AS n FROM advertisements WHERE merchant_id = ?").bind(merchant.merchantId).first<any>();
    expect(ads.n).toBe(0);
    expect((await walletState(merchant.user.id)).balance).toBe(999);
    expect(await ledgerOf(merchant.user.id)).toEqual([]);
  });

  it("concurrent creations never overdraw: balance for 3 ads, 8 attempts, 3 ads", async () => {
    const merchant = await insertMerchant({ balance: 3000 });
    const voucher = await insertVoucher(merchant);
    const results = await Promise.all(Array.from({ length: 8 }, () => api("POST", "/api/v1/advertisements/", { token: merchant.user.token, body: adBody(voucher.id) })));
    expect(results.filter((r) => r.status === 201)).toHaveLength(3);
    const ads = await env.DB.prepare("SELECT COUNT(*) AS n FROM advertisements WHERE merchant_id = ?").bind(merchant.merchantId).first<any>();
    expect(ads.n).toBe(3);
    const state = await walletState(merchant.user.id);
    expect([state.balance, state.ledger_sum]).toEqual([0, 0]);
  });

  it("takes a multipart banner: sniffed image stored in R2 and linked from the listings", async () => {
    const merchant = await insertMerchant({ balance: 5000 });
    const voucher = await insertVoucher(merchant);
    const res = await postAdWithBanner(merchant, voucher.id, new File([PNG], "banner.txt", { type: "text/plain" }), { city: "Nagpur" });
    expect(res.status).toBe(201);
    const listed = await api("GET", "/api/v1/advertisements/by-location/?city=nagpur");
    const ad = listed.body.advertisements.find((a: any) => a.id === res.body.advertisement_id);
    expect(ad.banner_image).toMatch(/\/api\/v1\/media\/advertisements\/[0-9a-f-]{36}\.png$/);
    const key = new URL(ad.banner_image).pathname.replace("/api/v1/media/", "");
    const object = await env.MEDIA.get(key);
    expect(object?.httpMetadata?.contentType).toBe("image/png");
    expect(new Uint8Array(await object!.arrayBuffer())).toEqual(PNG);
    const served = await api("GET", new URL(ad.banner_image).pathname);
    expect(served.status).toBe(200);
    expect(served.headers.get("content-type")).toBe("image/png");
  });

  it("an Idempotency-Key on a multipart ad hashes the bytes as sent: the same form replays, another file is refused", async () => {
    const merchant = await insertMerchant({ balance: 5000 });
    const voucher = await insertVoucher(merchant);
    // Two banners that differ only in bytes that are not UTF-8: read as text, both would be the same.
    const bannerA = new Uint8Array([...PNG, 0xff, 0xfe]);
    const bannerB = new Uint8Array([...PNG, 0xfe, 0xff]);
    const boundary = "pcpu-fixed-boundary";
    const form = (banner: Uint8Array) => {
      const fields = Object.entries(adBody(voucher.id, { city: "Kolhapur" }))
        .map(([k, v]) => `--${boundary}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`)
        .join("");
      const head = `${fields}--${boundary}\r\nContent-Disposition: form-data; name="banner_image"; filename="b.png"\r\nContent-Type: image/png\r\n\r\n`;
      return new Uint8Array([...new TextEncoder().encode(head), ...banner, ...new TextEncoder().encode(`\r\n--${boundary}--\r\n`)]);
    };
    const post = (banner: Uint8Array) =>
      api("POST", "/api/v1/advertisements/", {
        token: merchant.user.token,
        raw: form(banner),
        headers: { "content-type": `multipart/form-data; boundary=${boundary}`, "Idempotency-Key": `ad-bytes-${merchant.user.id}` },
      });

    const first = await post(bannerA);
    expect(first.status).toBe(201);
    const { banner_key } = (await env.DB.prepare("SELECT banner_key FROM advertisements WHERE id = ?").bind(first.body.advertisement_id).first<{ banner_key: string }>())!;
    // The form was parsed from the bytes the key was hashed from, unchanged.
    expect(new Uint8Array(await (await env.MEDIA.get(banner_key))!.arrayBuffer())).toEqual(bannerA);

    const again = await post(bannerA);
    expect(again.status).toBe(201);
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    expect(again.body.advertisement_id).toBe(first.body.advertisement_id);

    const other = await post(bannerB);
    expect(other.status).toBe(422);
    expect(other.body.code).toBe("IDEMPOTENCY_KEY_REUSED");
    expect((await ledgerOf(merchant.user.id)).length).toBe(1);
  });

  it("stores a banner with a year of caching and serves it with that Cache-Control, like a voucher image", async () => {
    const merchant = await insertMerchant({ balance: 5000 });
    const voucher = await insertVoucher(merchant);
    const res = await postAdWithBanner(merchant, voucher.id, new File([PNG], "banner.png", { type: "image/png" }), { city: "Solapur" });
    expect(res.status).toBe(201);
    const { banner_key } = (await env.DB.prepare("SELECT banner_key FROM advertisements WHERE id = ?").bind(res.body.advertisement_id).first<{ banner_key: string }>())!;
    const object = await env.MEDIA.head(banner_key);
    expect(object?.httpMetadata?.cacheControl).toBe("public, max-age=31536000, immutable");
    const served = await api("GET", `/api/v1/media/${banner_key}`);
    expect(served.status).toBe(200);
    expect(served.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
  });

  it("refuses a banner that is not an image, or too large, and charges nothing", async () => {
    const merchant = await insertMerchant({ balance: 5000 });
    const voucher = await insertVoucher(merchant);
    for (const [file, status] of [
      [new File(["<svg/>"], "x.png", { type: "image/png" }), 415],
      [new File([PNG, new Uint8Array(2 * 1024 * 1024)], "big.png", { type: "image/png" }), 413],
    ] as const) {
      const res = await postAdWithBanner(merchant, voucher.id, file);
      expect(res.status).toBe(status);
    }
    expect((await walletState(merchant.user.id)).balance).toBe(5000);
  });

  it("refuses another merchant's voucher (404), non-merchants (403), bad dates and unknown fields (400)", async () => {
    const owner = await insertMerchant({ balance: 5000 });
    const voucher = await insertVoucher(owner);
    const other = await insertMerchant({ balance: 5000 });
    expect((await api("POST", "/api/v1/advertisements/", { token: other.user.token, body: adBody(voucher.id) })).status).toBe(404);
    const user = await createUser({ balance: 5000 });
    expect((await api("POST", "/api/v1/advertisements/", { token: user.token, body: adBody(voucher.id) })).status).toBe(403);
    for (const body of [
      adBody(voucher.id, { end_date: dayString(-1), start_date: dayString(-5) }),
      adBody(voucher.id, { start_date: dayString(5), end_date: dayString(2) }),
      adBody(voucher.id, { end_date: "2024-02-30" }),
      adBody(voucher.id, { is_active: true }),
    ]) {
      const res = await api("POST", "/api/v1/advertisements/", { token: owner.user.token, body });
      expect([JSON.stringify(body), res.status]).toEqual([JSON.stringify(body), 400]);
    }
    expect((await walletState(owner.user.id)).balance).toBe(5000);
    expect((await walletState(other.user.id)).balance).toBe(5000);
  });
});

describe("extending an advertisement", () => {
  it("charges the per-day cost times days, moves the end date, and writes a ledger entry", async () => {
    const merchant = await insertMerchant({ balance: 5000 });
    const voucher = await insertVoucher(merchant, { title: "Flat 50" });
    const created = await api("POST", "/api/v1/advertisements/", { token: merchant.user.token, body: adBody(voucher.id) });
    const id = created.body.advertisement_id;
    const res = await api("POST", `/api/voucher/advertisements/${id}/extend/`, { token: merchant.user.token, body: { days: 7 } });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      message: "Advertisement extended successfully",
      advertisement_id: id,
      days_extended: 7,
      new_end_date: dayString(17),
      cost_deducted: 7,
      remaining_balance: 33,
      transaction_note: "Advertisement Extension: Flat 50 (+7 days)",
    });
    const ledger = await ledgerOf(merchant.user.id);
    expect(ledger.map((l: any) => [l.amount, l.note])).toEqual([
      [-1000, "Advertisement Creation: Flat 50"],
      [-700, "Advertisement Extension: Flat 50 (+7 days)"],
    ]);
    const state = await walletState(merchant.user.id);
    expect(state.balance).toBe(state.ledger_sum);
  });

  it("fails cleanly on insufficient balance and leaves the end date alone", async () => {
    const merchant = await insertMerchant({ balance: 1500 });
    const voucher = await insertVoucher(merchant);
    const created = await api("POST", "/api/v1/advertisements/", { token: merchant.user.token, body: adBody(voucher.id) });
    const res = await api("POST", `/api/v1/advertisements/${created.body.advertisement_id}/extend/`, { token: merchant.user.token, body: { days: 6 } });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe("INSUFFICIENT_BALANCE");
    const ad = await env.DB.prepare("SELECT end_date FROM advertisements WHERE id = ?").bind(created.body.advertisement_id).first<any>();
    expect(ad.end_date).toBe(dayString(10));
    expect((await walletState(merchant.user.id)).balance).toBe(500);
  });

  it("only the owner may extend; days must be 1..365", async () => {
    const merchant = await insertMerchant({ balance: 5000 });
    const voucher = await insertVoucher(merchant);
    const created = await api("POST", "/api/v1/advertisements/", { token: merchant.user.token, body: adBody(voucher.id) });
    const other = await insertMerchant({ balance: 5000 });
    const path = `/api/v1/advertisements/${created.body.advertisement_id}/extend/`;
    expect((await api("POST", path, { token: other.user.token, body: { days: 1 } })).status).toBe(404);
    expect((await api("POST", path, { token: merchant.user.token, body: { days: 0 } })).status).toBe(400);
    expect((await api("POST", path, { token: merchant.user.token, body: { days: 366 } })).status).toBe(400);
    expect((await walletState(other.user.id)).balance).toBe(5000);
  });
});

describe("listing advertisements", () => {
  it("shows ads running today, by location case-insensitively, and hides ended ones (cron marks them inactive)", async () => {
    const merchant = await insertMerchant({ balance: 10_000 });
    const voucher = await insertVoucher(merchant);
    const city = `Town${crypto.randomUUID().slice(0, 6)}`;
    const running = await api("POST", "/api/v1/advertisements/", { token: merchant.user.token, body: adBody(voucher.id, { city }) });
    const later = await api("POST", "/api/v1/advertisements/", { token: merchant.user.token, body: adBody(voucher.id, { city, start_date: dayString(3) }) });
    const now = new Date().toISOString();
    const ended = await env.DB.prepare(
      "INSERT INTO advertisements (merchant_id, voucher_id, start_date, end_date, city, state, is_active, created_at, updated_at) VALUES (?, ?, ?, ?, ?, 'Maharashtra', 1, ?, ?) RETURNING id",
    )
      .bind(merchant.merchantId, voucher.id, dayString(-10), dayString(-1), city, now, now)
      .first<{ id: number }>();

    const active = await api("GET", "/api/v1/advertisements/active/");
    expect(active.status).toBe(200);
    const ids = active.body.map((a: any) => a.id);
    expect(ids).toContain(running.body.advertisement_id);
    expect(ids).not.toContain(later.body.advertisement_id);
    expect(ids).not.toContain(ended!.id);
    expect(active.body.find((a: any) => a.id === running.body.advertisement_id)).toEqual({
      id: running.body.advertisement_id,
      voucher_title: voucher.title,
      merchant_name: merchant.businessName,
      banner_image: null,
      start_date: dayString(0),
      end_date: dayString(10),
      city,
      state: "Maharashtra",
    });

    const byLocation = await api("GET", `/api/voucher/advertisements/by-location/?city=${city.toUpperCase()}&state=maharashtra`);
    expect(byLocation.status).toBe(200);
    expect(byLocation.body.total_count).toBe(1);
    expect(byLocation.body.advertisements[0].id).toBe(running.body.advertisement_id);
    expect(byLocation.body.location).toBe(`${city.toUpperCase()}, maharashtra`);
    expect((await api("GET", "/api/v1/advertisements/by-location/")).status).toBe(400);

    const controller = createScheduledController({ cron: CRON.frequent, scheduledTime: Date.now() });
    await worker.scheduled(controller, env);
    await worker.scheduled(controller, env);
    const flags = await env.DB.prepare("SELECT id, is_active FROM advertisements WHERE city = ? ORDER BY id").bind(city).all<any>();
    expect(flags.results.find((r: any) => r.id === ended!.id).is_active).toBe(0);
    expect(flags.results.find((r: any) => r.id === running.body.advertisement_id).is_active).toBe(1);
  });

  it("stops showing ads of an inactive merchant", async () => {
    const merchant = await insertMerchant({ balance: 5000 });
    const voucher = await insertVoucher(merchant);
    const created = await api("POST", "/api/v1/advertisements/", { token: merchant.user.token, body: adBody(voucher.id) });
    await env.DB.prepare("UPDATE merchants SET is_active = 0 WHERE id = ?").bind(merchant.merchantId).run();
    const active = await api("GET", "/api/v1/advertisements/active/");
    expect(active.body.map((a: any) => a.id)).not.toContain(created.body.advertisement_id);
  });
});
