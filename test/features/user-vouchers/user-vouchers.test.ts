import { env, exports } from "cloudflare:workers";
import { createScheduledController } from "cloudflare:test";
import jsQR from "jsqr";
import { describe, expect, it } from "vitest";
import { CRON } from "../../../src/cron/schedules";
import worker from "../../../src/index";
import { applyToD1 } from "../../../src/features/wallet/wallet.ledger";
import { api } from "../../helpers/api";
import { createUser } from "../../helpers/factories";
import { createMerchantViaApi, createVoucherViaApi, purchaseViaApi, redemptionRow } from "../../helpers/marketplace-api";

/** Rasterises the SVG's square modules (`M x,y h s v s h -s z`) onto white, then reads it like a camera would. */
function decodeSvg(svg: string): string | null {
  const [, , , w, h] = /viewBox="(\d+) (\d+) (\d+) (\d+)"/.exec(svg)!.map(Number);
  const width = w!;
  const height = h!;
  const pixels = new Uint8ClampedArray(width * height * 4).fill(255);
  for (const [, x, y, size] of svg.matchAll(/M(\d+),(\d+)h(\d+)/g)) {
    for (let dy = 0; dy < Number(size); dy++)
      for (let dx = 0; dx < Number(size); dx++) {
        const at = ((Number(y) + dy) * width + Number(x) + dx) * 4;
        pixels[at] = pixels[at + 1] = pixels[at + 2] = 0;
      }
  }
  return jsQR(pixels, width, height)?.data ?? null;
}

async function bought(options: { redemptions?: number; gift?: boolean } = {}) {
  const merchant = await createMerchantViaApi();
  const voucher = await createVoucherViaApi(merchant, { redemptions_per_purchase: options.redemptions ?? 1, is_gift_card: options.gift ?? false });
  const buyer = await createUser({ balance: 10_000 });
  const res = await purchaseViaApi(buyer.token, voucher.id);
  expect(res.status).toBe(201);
  return { merchant, voucher, buyer, purchase: res.body };
}

describe("GET /user-vouchers/", () => {
  it("lists the caller's vouchers with the spec's fields at both path forms", async () => {
    const { buyer, voucher, merchant, purchase: p } = await bought({ redemptions: 3 });
    for (const path of ["/api/v1/user-vouchers/", "/api/voucher/user-vouchers"]) {
      const res = await api("GET", path, { token: buyer.token });
      expect(res.status).toBe(200);
      expect(res.body.count).toBe(1);
      expect(res.body.results[0]).toMatchObject({
        id: p.redemption_id,
        voucher_title: voucher.title,
        merchant_name: merchant.businessName,
        voucher_type: "percentage",
        voucher_value: "50% off (min bill: ₹100)",
        expiry_date: p.expiry_date,
        purchase_status: "purchased",
        can_redeem: true,
        remaining_redemptions: 3,
        purchase_reference: p.purchase_reference,
        is_gift_voucher: false,
      });
      expect(typeof res.body.results[0].purchased_at).toBe("string");
    }
  });

  it("filters by purchase_status and is_gift_voucher; can_redeem follows the state", async () => {
    const { buyer, voucher } = await bought();
    const second = await purchaseViaApi(buyer.token, voucher.id);
    const third = await purchaseViaApi(buyer.token, voucher.id);
    await api("POST", "/api/v1/voucher-purchase/cancel/", { token: buyer.token, body: { redemption_id: second.body.redemption_id } });
    await env.DB.prepare("UPDATE voucher_redemptions SET is_gift_voucher = 1, purchase_cost = 0 WHERE id = ?").bind(third.body.redemption_id).run();

    const list = async (query: string) => (await api("GET", `/api/v1/user-vouchers/?${query}`, { token: buyer.token })).body;
    const cancelled = await list("purchase_status=cancelled");
    expect(cancelled.results.map((r: any) => r.id)).toEqual([second.body.redemption_id]);
    expect(cancelled.results[0].can_redeem).toBe(false);
    expect((await list("purchase_status=purchased")).count).toBe(2);
    expect((await list("is_gift_voucher=true")).results.map((r: any) => r.id)).toEqual([third.body.redemption_id]);
    expect((await list("is_gift_voucher=false")).count).toBe(2);
    const paged = await list("page_size=1&page=2");
    expect(paged).toMatchObject({ count: 3 });
    expect(paged.results).toHaveLength(1);
    expect((await api("GET", "/api/v1/user-vouchers/?purchase_status=lost", { token: buyer.token })).status).toBe(400);
    expect((await api("GET", "/api/v1/user-vouchers/")).status).toBe(401);
  });
});

describe("QR codes", () => {
  it("returns the spec's QR JSON at both path forms", async () => {
    const { buyer, voucher, merchant, purchase: p } = await bought();
    const row = await redemptionRow(p.redemption_id);
    for (const path of [`/api/v1/user-vouchers/${p.redemption_id}/qr-code/`, `/api/voucher/user-vouchers/${p.redemption_id}/qr-code`]) {
      const res = await api("GET", path, { token: buyer.token });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({
        message: "Voucher QR code data",
        voucher_details: {
          id: voucher.id,
          title: voucher.title,
          merchant_name: merchant.businessName,
          voucher_type: "percentage",
          voucher_value: "50% off (min bill: ₹100)",
          purchased_at: row.purchased_at,
          expiry_date: p.expiry_date,
          remaining_redemptions: 1,
        },
        qr_code_data: { purchase_reference: p.purchase_reference, redemption_id: p.redemption_id, voucher_uuid: row.uuid },
        redemption_instructions: "Show this QR code to the merchant for redemption",
      });
    }
  });

  it("serves an SVG that decodes to the purchase reference (.svg path and ?format=svg)", async () => {
    const { buyer, purchase: p } = await bought();
    const json = await api("GET", `/api/v1/user-vouchers/${p.redemption_id}/qr-code/`, { token: buyer.token });
    const svgPath = new URL(json.body.qr_code_svg_url).pathname;
    for (const path of [svgPath, `/api/voucher/user-vouchers/${p.redemption_id}/qr-code/?format=svg`]) {
      const res = await exports.default.fetch(new Request(`http://perks.test${path}`, { headers: { authorization: `Bearer ${buyer.token}` } }));
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toContain("image/svg+xml");
      const svg = await res.text();
      expect(svg.startsWith("<svg")).toBe(true);
      expect(decodeSvg(svg)).toBe(p.purchase_reference);
    }
    // The decoder is not fooled: another purchase's SVG reads as that purchase's reference.
    const other = await purchaseViaApi(buyer.token, (await redemptionRow(p.redemption_id)).voucher_id);
    const otherSvg = await (await exports.default.fetch(new Request(`http://perks.test/api/v1/user-vouchers/${other.body.redemption_id}/qr-code.svg`, { headers: { authorization: `Bearer ${buyer.token}` } }))).text();
    expect(decodeSvg(otherSvg)).toBe(other.body.purchase_reference);
    expect(other.body.purchase_reference).not.toBe(p.purchase_reference);
  });
});

describe("expiry", () => {
  it("the frequent cron marks past-expiry purchases expired, once; expired ones cannot be refunded or cancelled", async () => {
    const { buyer, purchase: p } = await bought();
    const { purchase: fresh, buyer: freshBuyer } = await bought();
    const past = new Date(Date.now() - 60_000).toISOString();
    await env.DB.prepare("UPDATE voucher_redemptions SET expiry_date = ? WHERE id = ?").bind(past, p.redemption_id).run();

    // Past expiry but not yet marked: refused all the same.
    const early = await api("POST", "/api/v1/voucher-purchase/refund/", { token: buyer.token, body: { redemption_id: p.redemption_id } });
    expect([early.status, early.body.code]).toEqual([400, "EXPIRED"]);
    const listed = await api("GET", "/api/v1/user-vouchers/", { token: buyer.token });
    expect(listed.body.results[0].can_redeem).toBe(false);

    await worker.scheduled(createScheduledController({ cron: CRON.frequent, scheduledTime: Date.now() }), env);
    expect((await redemptionRow(p.redemption_id)).purchase_status).toBe("expired");
    expect((await redemptionRow(fresh.redemption_id)).purchase_status).toBe("purchased");
    const changedAt = (await redemptionRow(p.redemption_id)).status_changed_at;
    await worker.scheduled(createScheduledController({ cron: CRON.frequent, scheduledTime: Date.now() }), env);
    expect((await redemptionRow(p.redemption_id)).status_changed_at).toBe(changedAt);

    for (const action of ["refund", "cancel"]) {
      const res = await api("POST", `/api/v1/voucher-purchase/${action}/`, { token: buyer.token, body: { redemption_id: p.redemption_id } });
      expect([res.status, res.body.code]).toEqual([400, "EXPIRED"]);
    }
    expect((await api("POST", "/api/v1/voucher-purchase/refund/", { token: freshBuyer.token, body: { redemption_id: fresh.redemption_id } })).status).toBe(200);
  });
});

describe("the ledger's error parsing recognises the voucher constraints", () => {
  it("reports the stock CHECK and the cancel trigger by name, and rolls the money back", async () => {
    const { buyer, voucher, purchase: p } = await bought();
    await env.DB.prepare("UPDATE vouchers SET count = sold_count WHERE id = ?").bind(voucher.id).run();
    const stock = await applyToD1(env.DB, {
      userId: buyer.id,
      amount: -1000,
      kind: "debit",
      idempotencyKey: `probe-stock:${p.redemption_id}`,
      statements: [{ sql: "UPDATE vouchers SET sold_count = sold_count + 1 WHERE id = ?", params: [voucher.id] }],
    });
    expect(stock).toEqual({ ok: false, reason: "CONSTRAINT", constraint: "voucher_stock" });

    await api("POST", "/api/v1/voucher-purchase/cancel/", { token: buyer.token, body: { redemption_id: p.redemption_id } });
    const guard = await applyToD1(env.DB, {
      userId: buyer.id,
      amount: 1000,
      kind: "refund",
      idempotencyKey: `probe-guard:${p.redemption_id}`,
      statements: [{ sql: "UPDATE voucher_redemptions SET purchase_status = 'refunded', status_changed_at = ? WHERE id = ?", params: [new Date().toISOString(), p.redemption_id] }],
    });
    expect(guard).toEqual({ ok: false, reason: "CONSTRAINT", constraint: "redemption_not_cancellable" });
    const remaining = await applyToD1(env.DB, {
      userId: buyer.id,
      amount: 1000,
      kind: "refund",
      idempotencyKey: `probe-remaining:${p.redemption_id}`,
      statements: [{ sql: "UPDATE voucher_redemptions SET remaining_redemptions = -1 WHERE id = ?", params: [p.redemption_id] }],
    });
    expect(remaining).toEqual({ ok: false, reason: "CONSTRAINT", constraint: "redemption_remaining" });
    const wallet = await env.DB.prepare("SELECT balance FROM wallets WHERE user_id = ?").bind(buyer.id).first<{ balance: number }>();
    expect(wallet!.balance).toBe(9_000);
  });
});
