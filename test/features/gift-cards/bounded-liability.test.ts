// A gift-card purchase cannot become more gift cards than the merchant issued: each claimed copy
// takes a unit of the voucher's stock under the purchase's own guard, and a purchase is shared to
// at most its cap. Races are real: many requests at once through the whole worker.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { api, isCleanError } from "../../helpers/api";
import { createUser, type TestUser } from "../../helpers/factories";
import { insertMerchant, insertVoucher, uniquePhone, type InsertedVoucher } from "../../helpers/voucher-factories";

const COST = 1000;

const buy = (user: TestUser, voucherId: number) => api("POST", "/api/v1/voucher-purchase/purchase/", { token: user.token, body: { voucher_id: voucherId } });
const share = (token: string, id: number, phone_numbers: string[]) =>
  api("POST", `/api/v1/vouchers/${id}/share-gift-card/`, { token, body: { phone_numbers } });
const claim = (token: string, claim_reference: string) => api("POST", "/api/v1/gift-card-claim/claim/", { token, body: { claim_reference } });
const phones = (n: number) => Array.from({ length: n }, () => uniquePhone());

async function stock(voucherId: number) {
  return (await env.DB.prepare("SELECT count, sold_count, claimed_count FROM vouchers WHERE id = ?").bind(voucherId).first<{
    count: number | null;
    sold_count: number;
    claimed_count: number;
  }>())!;
}

async function shareCount(purchaseId: number) {
  const row = await env.DB.prepare("SELECT COUNT(*) AS n FROM gift_card_shares WHERE source_redemption_id = ?").bind(purchaseId).first<{ n: number }>();
  return row!.n;
}

/** A gift-card voucher of `count` units and one buyer who bought it once through the API. */
async function boughtGiftCard(options: { count?: number | null; maxShares?: number } = {}) {
  const merchant = await insertMerchant();
  const voucher: InsertedVoucher = await insertVoucher(merchant, { giftCard: true, count: options.count ?? null, maxShares: options.maxShares });
  const buyer = await createUser({ balance: 10 * COST });
  const bought = await buy(buyer, voucher.id);
  expect(bought.status).toBe(201);
  return { merchant, voucher, buyer, purchaseId: bought.body.redemption_id as number };
}

describe("share cap", () => {
  it("one purchase of a 3-unit gift card cannot be shared to 20 numbers, three times over", async () => {
    const { buyer, purchaseId } = await boughtGiftCard({ count: 3 });
    for (let i = 0; i < 3; i++) {
      const res = await share(buyer.token, purchaseId, phones(20));
      expect(res.status).toBe(409);
      expect(res.body).toMatchObject({ code: "SHARE_LIMIT_REACHED", details: { max_shares: 5, shares_used: 0, shares_remaining: 5 } });
      expect(isCleanError(res.body)).toBe(true);
    }
    expect(await shareCount(purchaseId)).toBe(0);
  });

  it("shares up to the default cap of 5, then refuses with SHARE_LIMIT_REACHED", async () => {
    const { buyer, purchaseId } = await boughtGiftCard();
    const first = await share(buyer.token, purchaseId, phones(3));
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ success_count: 3, max_shares: 5, shares_remaining: 2 });
    const tooMany = await share(buyer.token, purchaseId, phones(3));
    expect(tooMany.status).toBe(409);
    expect(tooMany.body.details).toEqual({ max_shares: 5, shares_used: 3, shares_remaining: 2 });
    expect((await share(buyer.token, purchaseId, phones(2))).body.shares_remaining).toBe(0);
    const full = await share(buyer.token, purchaseId, phones(1));
    expect(full.status).toBe(409);
    expect(full.body.error).toMatch(/limit of 5/);
    expect(await shareCount(purchaseId)).toBe(5);
  });

  it("20 concurrent share requests cannot pass the cap together", async () => {
    const { buyer, purchaseId } = await boughtGiftCard({ maxShares: 4 });
    const results = await Promise.all(phones(20).map((phone) => share(buyer.token, purchaseId, [phone])));
    expect(results.filter((r) => r.status === 200)).toHaveLength(4);
    for (const r of results.filter((r) => r.status !== 200)) expect(r.body.code).toBe("SHARE_LIMIT_REACHED");
    expect(await shareCount(purchaseId)).toBe(4);
  });

  it("is set by the merchant (1..20, default 5) and frozen on each purchase", async () => {
    const merchant = await insertMerchant();
    const create = (max_shares_per_purchase?: number) =>
      api("POST", "/api/v1/vouchers/", {
        token: merchant.user.token,
        body: { title: "Gift coffee", voucher_type: 3, product_name: "Coffee", is_gift_card: true, ...(max_shares_per_purchase && { max_shares_per_purchase }) },
      });
    expect((await create()).body.max_shares_per_purchase).toBe(5);
    expect((await create(21)).status).toBe(400);
    const voucher = await create(2);
    expect(voucher.status).toBe(201);
    expect(voucher.body).toMatchObject({ max_shares_per_purchase: 2, claimed_count: 0 });

    const buyer = await createUser({ balance: 10 * COST });
    const purchaseId = (await buy(buyer, voucher.body.id)).body.redemption_id;
    // Raising the cap later is for later sales; this purchase keeps the cap it was sold with.
    const raised = await api("PATCH", `/api/v1/vouchers/${voucher.body.id}/`, { token: merchant.user.token, body: { max_shares_per_purchase: 20 } });
    expect(raised.body.max_shares_per_purchase).toBe(20);
    expect((await share(buyer.token, purchaseId, phones(3))).body.details).toMatchObject({ max_shares: 2 });
    expect((await share(buyer.token, purchaseId, phones(2))).status).toBe(200);
    // So does turning the gift card off: the buyer paid for a gift card.
    await api("PATCH", `/api/v1/vouchers/${voucher.body.id}/`, { token: merchant.user.token, body: { is_gift_card: false } });
    const later = (await buy(buyer, voucher.body.id)).body.redemption_id;
    expect((await share(buyer.token, later, phones(1))).body.error).toMatch(/Only gift-card vouchers/);
  });

  it("a claimed copy cannot be shared again", async () => {
    const { buyer, purchaseId } = await boughtGiftCard();
    const reference = (await share(buyer.token, purchaseId, phones(1))).body.shares_created[0].claim_reference;
    const recipient = await createUser();
    const copy = (await claim(recipient.token, reference)).body.gift_card_details.id;
    const res = await share(recipient.token, copy, phones(1));
    expect(res.status).toBe(400);
    expect(res.body.error).toMatch(/cannot be shared again/);
  });
});

describe("claims take stock", () => {
  it("a purchase of a 3-unit voucher shared to 5 yields 2 claimed copies, then the stock is gone for everyone", async () => {
    const { voucher, buyer, purchaseId } = await boughtGiftCard({ count: 3 });
    const shared = await share(buyer.token, purchaseId, phones(5));
    expect(shared.status).toBe(200);
    const claimers = await Promise.all(Array.from({ length: 5 }, () => createUser()));
    const results = await Promise.all(shared.body.shares_created.map((s: any, i: number) => claim(claimers[i]!.token, s.claim_reference)));
    expect(results.filter((r) => r.status === 200)).toHaveLength(2);
    for (const r of results.filter((r) => r.status !== 200)) {
      expect(r.status).toBe(400);
      expect(r.body.code).toBe("SOLD_OUT");
      expect(isCleanError(r.body)).toBe(true);
    }
    expect(await stock(voucher.id)).toEqual({ count: 3, sold_count: 1, claimed_count: 2 });
    const copies = await env.DB.prepare("SELECT COUNT(*) AS n FROM voucher_redemptions WHERE voucher_id = ? AND is_gift_voucher = 1").bind(voucher.id).first<{ n: number }>();
    expect(copies!.n).toBe(2);
    // A refused claim leaves its share unclaimed, and a buyer now finds the voucher sold out.
    const unclaimed = await env.DB.prepare("SELECT COUNT(*) AS n FROM gift_card_shares WHERE source_redemption_id = ? AND is_claimed = 0").bind(purchaseId).first<{ n: number }>();
    expect(unclaimed!.n).toBe(3);
    const late = await buy(await createUser({ balance: COST }), voucher.id);
    expect(late.status).toBe(400);
    expect(late.body.code).toBe("SOLD_OUT");
  });

  it("many concurrent claims and purchases against a small stock never pass it", async () => {
    const { voucher, buyer, purchaseId } = await boughtGiftCard({ count: 4 });
    const second = await createUser({ balance: 10 * COST });
    const secondPurchase = (await buy(second, voucher.id)).body.redemption_id;
    const references = [
      ...(await share(buyer.token, purchaseId, phones(5))).body.shares_created,
      ...(await share(second.token, secondPurchase, phones(5))).body.shares_created,
    ].map((s: any) => s.claim_reference as string);
    expect(references).toHaveLength(10);
    const claimers = await Promise.all(references.map(() => createUser()));
    const buyers = await Promise.all(Array.from({ length: 5 }, () => createUser({ balance: COST })));
    const results = await Promise.all([
      ...references.map((ref, i) => claim(claimers[i]!.token, ref)),
      ...buyers.map((b) => buy(b, voucher.id)),
    ]);
    const won = results.filter((r) => r.status === 200 || r.status === 201);
    expect(won).toHaveLength(2);
    for (const r of results.filter((r) => r.status !== 200 && r.status !== 201)) expect(r.body.code).toBe("SOLD_OUT");
    const s = await stock(voucher.id);
    expect(s.sold_count + s.claimed_count).toBe(4);
    const live = await env.DB.prepare(
      "SELECT COUNT(*) AS n FROM voucher_redemptions WHERE voucher_id = ? AND purchase_status NOT IN ('cancelled', 'refunded')",
    )
      .bind(voucher.id)
      .first<{ n: number }>();
    expect(live!.n).toBe(4);
    // Nobody paid for a refused purchase.
    const charged = await env.DB.prepare(
      `SELECT COUNT(*) AS n FROM ledger_entries WHERE amount < 0 AND user_id IN (${buyers.map(() => "?").join(",")})`,
    )
      .bind(...buyers.map((b) => b.id))
      .first<{ n: number }>();
    expect(charged!.n).toBe(s.sold_count - 2);
  });

  it("cancelling a claimed copy gives its unit back, and a waiting share can then be claimed", async () => {
    const { voucher, buyer, purchaseId } = await boughtGiftCard({ count: 2 });
    const [a, b] = (await share(buyer.token, purchaseId, phones(2))).body.shares_created.map((s: any) => s.claim_reference as string);
    const first = await createUser();
    const copy = await claim(first.token, a!);
    expect(copy.status).toBe(200);
    const waiting = await createUser();
    expect((await claim(waiting.token, b!)).body.code).toBe("SOLD_OUT");
    const cancelled = await api("POST", "/api/v1/voucher-purchase/cancel/", {
      token: first.token,
      body: { redemption_id: copy.body.gift_card_details.id, reason: "not for me" },
    });
    expect(cancelled.status).toBe(200);
    expect(await stock(voucher.id)).toMatchObject({ sold_count: 1, claimed_count: 0 });
    expect((await claim(waiting.token, b!)).status).toBe(200);
    expect(await stock(voucher.id)).toMatchObject({ sold_count: 1, claimed_count: 1 });
  });

  it("a merchant cannot lower the stock below what is sold and claimed", async () => {
    const { merchant, voucher, buyer, purchaseId } = await boughtGiftCard({ count: 5 });
    const [ref] = (await share(buyer.token, purchaseId, phones(1))).body.shares_created.map((s: any) => s.claim_reference as string);
    expect((await claim((await createUser()).token, ref!)).status).toBe(200);
    const res = await api("PATCH", `/api/v1/vouchers/${voucher.id}/`, { token: merchant.user.token, body: { count: 1 } });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatch(/2 already issued/);
    // The database refuses it too, whatever the code path.
    await expect(env.DB.prepare("UPDATE vouchers SET count = 1 WHERE id = ?").bind(voucher.id).run()).rejects.toThrow(/voucher_stock/);
    expect((await api("PATCH", `/api/v1/vouchers/${voucher.id}/`, { token: merchant.user.token, body: { count: 2 } })).status).toBe(200);
  });

  it("sharing is refused once no stock is left for any claim", async () => {
    const { buyer, purchaseId } = await boughtGiftCard({ count: 1 });
    const res = await share(buyer.token, purchaseId, phones(1));
    expect(res.status).toBe(400);
    expect(res.body.code).toBe("SOLD_OUT");
    expect(await shareCount(purchaseId)).toBe(0);
  });
});
