// What a buyer paid for is what the till honours: a merchant's later edits apply to later sales only.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { api } from "../../helpers/api";
import { createUser } from "../../helpers/factories";
import { uniquePhone } from "../../helpers/voucher-factories";
import { createMerchantViaApi, createVoucherViaApi, purchaseViaApi } from "../../helpers/marketplace-api";

const SOLD = "10% off (min bill: ₹0)";

async function soldThenEdited() {
  const merchant = await createMerchantViaApi();
  const voucher = await createVoucherViaApi(merchant, { percentage_value: "10.00", percentage_min_bill: 0, is_gift_card: true, redemptions_per_purchase: 2 });
  const buyer = await createUser({ balance: 10_000 });
  const bought = await purchaseViaApi(buyer.token, voucher.id);
  expect(bought.status).toBe(201);
  const edit = (body: Record<string, unknown>) => api("PATCH", `/api/v1/vouchers/${voucher.id}/`, { token: merchant.token, body });
  expect((await edit({ percentage_value: "0.01", percentage_min_bill: "99999" })).body.voucher_value).toBe("0.01% off (min bill: ₹99999)");
  const switched = await edit({ voucher_type: 2, flat_amount: "0.01", flat_min_bill: "99999", redemptions_per_purchase: 1, terms_conditions: "Never" });
  expect(switched.body.voucher_value).toBe("₹0.01 off (min bill: ₹99999)");
  return { merchant, voucher, buyer, redemptionId: bought.body.redemption_id as number, reference: bought.body.purchase_reference as string };
}

describe("frozen terms", () => {
  it("user vouchers, QR data and the till's scan show the terms the buyer paid for", async () => {
    const { merchant, buyer, redemptionId, reference } = await soldThenEdited();
    const list = await api("GET", "/api/v1/user-vouchers/", { token: buyer.token });
    const item = list.body.results.find((r: any) => r.id === redemptionId);
    expect(item).toMatchObject({ voucher_type: "percentage", voucher_value: SOLD, total_redemptions: 2 });

    const qr = await api("GET", `/api/v1/user-vouchers/${redemptionId}/qr-code/`, { token: buyer.token });
    expect(qr.body.voucher_details).toMatchObject({ voucher_type: "percentage", voucher_value: SOLD });

    const scan = await api("POST", "/api/v1/merchant/scan/scan/", { token: merchant.token, body: { qr_data: reference } });
    expect(scan.status).toBe(200);
    expect(scan.body.voucher_details).toMatchObject({ voucher_type: "percentage", voucher_value: SOLD, remaining_redemptions: 2 });

    const row = await env.DB.prepare("SELECT voucher_type, percentage_value, percentage_min_bill, flat_amount, terms_conditions FROM voucher_redemptions WHERE id = ?")
      .bind(redemptionId)
      .first();
    expect(row).toEqual({ voucher_type: 1, percentage_value: 1000, percentage_min_bill: 0, flat_amount: null, terms_conditions: "" });
  });

  it("a gift card shared and claimed after the edit carries the sharer's terms", async () => {
    const { merchant, buyer, redemptionId } = await soldThenEdited();
    const shared = await api("POST", `/api/v1/vouchers/${redemptionId}/share-gift-card/`, { token: buyer.token, body: { phone_numbers: [uniquePhone()] } });
    const reference = shared.body.shares_created[0].claim_reference;
    const recipient = await createUser();
    const claimed = await api("POST", "/api/v1/gift-card-claim/claim/", { token: recipient.token, body: { claim_reference: reference } });
    expect(claimed.status).toBe(200);
    expect(claimed.body.gift_card_details).toMatchObject({ voucher_type: "percentage", voucher_value: SOLD });

    const mine = await api("GET", "/api/v1/gift-card-claim/my-gift-cards/", { token: recipient.token });
    expect(mine.body.gift_cards[0]).toMatchObject({ voucher_type: "percentage", voucher_value: SOLD, remaining_redemptions: 2 });
    const scan = await api("POST", "/api/v1/merchant/scan/scan/", { token: merchant.token, body: { qr_data: reference } });
    expect(scan.body.voucher_details).toMatchObject({ voucher_value: SOLD, remaining_redemptions: 2, is_gift_card: true });
  });

  it("a sale after the edit gets the new terms", async () => {
    const { voucher } = await soldThenEdited();
    const later = await createUser({ balance: 10_000 });
    const bought = await purchaseViaApi(later.token, voucher.id);
    const list = await api("GET", "/api/v1/user-vouchers/", { token: later.token });
    expect(list.body.results.find((r: any) => r.id === bought.body.redemption_id)).toMatchObject({
      voucher_type: "flat",
      voucher_value: "₹0.01 off (min bill: ₹99999)",
      total_redemptions: 1,
    });
  });

  it("the database refuses to change a sold purchase's terms", async () => {
    const { redemptionId } = await soldThenEdited();
    await expect(env.DB.prepare("UPDATE voucher_redemptions SET percentage_value = 1 WHERE id = ?").bind(redemptionId).run()).rejects.toThrow(
      /purchase_terms_frozen/,
    );
    await expect(env.DB.prepare("UPDATE voucher_redemptions SET max_shares = 20 WHERE id = ?").bind(redemptionId).run()).rejects.toThrow(
      /purchase_terms_frozen/,
    );
  });
});
