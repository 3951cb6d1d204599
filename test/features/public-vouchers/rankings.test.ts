// Rankings cannot be bought: a merchant trading with itself adds nothing, a buyer counts once per
// voucher, and one purchase adds a bounded amount (popularity_score = 2 × buyers + redeemers).
import { describe, expect, it } from "vitest";
import { api } from "../../helpers/api";
import { createUser, unique, type TestUser } from "../../helpers/factories";
import { insertMerchant, uniquePhone, type InsertedMerchant } from "../../helpers/voucher-factories";

const COST = 1000;

async function voucher(merchant: InsertedMerchant, body: Record<string, unknown> = {}) {
  const res = await api("POST", "/api/v1/vouchers/", {
    token: merchant.user.token,
    body: { title: unique("Ranked "), voucher_type: 3, product_name: "Coffee", ...body },
  });
  expect(res.status).toBe(201);
  return res.body.id as number;
}
const buy = async (user: TestUser, voucherId: number) => {
  const res = await api("POST", "/api/v1/voucher-purchase/purchase/", { token: user.token, body: { voucher_id: voucherId } });
  expect(res.status).toBe(201);
  return res.body.redemption_id as number;
};
const redeem = async (merchant: InsertedMerchant, redemptionId: number, quantity = 1) => {
  const res = await api("POST", "/api/v1/merchant/scan/redeem/", { token: merchant.user.token, body: { redemption_id: redemptionId, quantity, location: "Till" } });
  expect(res.status).toBe(200);
};

async function rankings(token: string) {
  const popular = (await api("GET", "/api/v1/vouchers/popular/", { token })).body.popular_vouchers as any[];
  const featured = (await api("GET", "/api/v1/public-vouchers/featured/")).body.featured_vouchers as any[];
  const trending = (await api("GET", "/api/v1/public-vouchers/trending/")).body.trending_vouchers as any[];
  return { popular, featured, trending };
}

describe("popularity", () => {
  it("a merchant buying and redeeming its own vouchers, or its own gift cards' copies, ranks nowhere", async () => {
    const self = await insertMerchant({ balance: 100 * COST });
    const bought = await voucher(self, { redemptions_per_purchase: 1000 });
    for (let i = 0; i < 3; i++) await buy(self.user, bought);
    const own = await buy(self.user, bought);
    await redeem(self, own, 1000);

    // Its own gift card, shared to accounts it controls, who claim and redeem.
    const gift = await voucher(self, { is_gift_card: true });
    const giftPurchase = await buy(self.user, gift);
    const shared = await api("POST", `/api/v1/vouchers/${giftPurchase}/share-gift-card/`, {
      token: self.user.token,
      body: { phone_numbers: Array.from({ length: 5 }, () => uniquePhone()) },
    });
    for (const s of shared.body.shares_created) {
      const sybil = await createUser();
      const claimed = await api("POST", "/api/v1/gift-card-claim/claim/", { token: sybil.token, body: { claim_reference: s.claim_reference } });
      await redeem(self, claimed.body.gift_card_details.id);
    }

    const honest = await insertMerchant();
    const honestVoucher = await voucher(honest);
    await buy(await createUser({ balance: COST }), honestVoucher);

    const { popular, featured, trending } = await rankings(self.user.token);
    for (const id of [bought, gift]) {
      expect(popular.find((v) => v.id === id)).toMatchObject({ purchase_count: 0, redemption_count: 0, popularity_score: 0 });
      expect(featured.find((v) => v.id === id)?.popularity_score ?? 0).toBe(0);
      expect(trending.map((v) => v.id)).not.toContain(id);
    }
    expect(popular.find((v) => v.id === honestVoucher)).toMatchObject({ purchase_count: 1, redemption_count: 0, popularity_score: 2 });
    expect(popular.findIndex((v) => v.id === honestVoucher)).toBeLessThan(popular.findIndex((v) => v.id === bought));
    expect(trending.find((v) => v.id === honestVoucher)).toMatchObject({ recent_purchases: 1 });
  });

  it("a buyer counts once per voucher however often they buy and redeem; one purchase adds at most 3", async () => {
    const merchant = await insertMerchant();
    const repeated = await voucher(merchant, { redemptions_per_purchase: 100 });
    const buyer = await createUser({ balance: 10 * COST });
    const purchases: number[] = [];
    for (let i = 0; i < 5; i++) purchases.push(await buy(buyer, repeated));
    await redeem(merchant, purchases[0]!, 100);
    await redeem(merchant, purchases[1]!, 3);

    // A gift card bought once and shared: each recipient who redeems adds 1.
    const gift = await voucher(merchant, { is_gift_card: true });
    const giver = await createUser({ balance: COST });
    const giftPurchase = await buy(giver, gift);
    const [share] = (
      await api("POST", `/api/v1/vouchers/${giftPurchase}/share-gift-card/`, { token: giver.token, body: { phone_numbers: [uniquePhone()] } })
    ).body.shares_created;
    const friend = await createUser();
    const copy = await api("POST", "/api/v1/gift-card-claim/claim/", { token: friend.token, body: { claim_reference: share.claim_reference } });
    await redeem(merchant, copy.body.gift_card_details.id);

    const { popular, trending } = await rankings(buyer.token);
    expect(popular.find((v) => v.id === repeated)).toMatchObject({ purchase_count: 1, redemption_count: 1, popularity_score: 3 });
    expect(trending.find((v) => v.id === repeated)).toMatchObject({ recent_purchases: 1 });
    expect(popular.find((v) => v.id === gift)).toMatchObject({ purchase_count: 1, redemption_count: 1, popularity_score: 3 });
  });
});
