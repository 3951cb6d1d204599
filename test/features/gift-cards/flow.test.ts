import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { Env } from "../../../src/env";
import { shareGiftCard } from "../../../src/features/gift-cards/gift-cards.share";
import type { QueueMessage } from "../../../src/queues/messages";
import { api } from "../../helpers/api";
import { createUser, walletState } from "../../helpers/factories";
import { outbound } from "../../helpers/outbound";
import { CREDENTIALS, deliverNotifications } from "../notifications/helpers";
import { insertMerchant, insertPurchase, insertVoucher, uniquePhone } from "../../helpers/voucher-factories";

describe("the spec's Complete Gift Card Flow Test, over HTTP", () => {
  it("merchant creates a gift card, user buys and shares it, recipient claims, merchant scans and redeems", async () => {
    const merchantUser = await createUser();
    const profile = await api("POST", "/api/v1/merchants/profile/", { token: merchantUser.token, body: { business_name: "Coffee Shop Flow", city: "Mumbai", state: "Maharashtra" } });
    expect(profile.status).toBe(201);

    // Step 1 (the token still says role "user": authorisation follows the merchant profile).
    const created = await api("POST", "/api/voucher/vouchers/", {
      token: merchantUser.token,
      body: { title: "Free Coffee Gift Card", message: "Enjoy a free coffee on us!", voucher_type: 3, product_name: "Coffee", is_gift_card: true, is_active: true },
    });
    expect(created.status).toBe(201);
    const voucherId = created.body.id ?? created.body.voucher?.id;

    // Step 2
    const buyer = await createUser({ balance: 5000 });
    const bought = await api("POST", "/api/v1/voucher-purchase/purchase/", { token: buyer.token, body: { voucher_id: voucherId } });
    expect(bought.status).toBe(201);
    expect((await walletState(buyer.id)).balance).toBe(4000);

    // Step 3: the spec passes the voucher id
    const phone = uniquePhone();
    const shared = await api("POST", `/api/v1/vouchers/${voucherId}/share-gift-card/`, { token: buyer.token, body: { phone_numbers: [phone] } });
    expect(shared.status).toBe(200);
    expect(shared.body.success_count).toBe(1);
    const reference = shared.body.shares_created[0].claim_reference;

    // Step 4
    const recipient = await createUser({ phone });
    const claimed = await api("POST", "/api/v1/gift-card-claim/claim/", { token: recipient.token, body: { claim_reference: reference } });
    expect(claimed.status).toBe(200);
    const giftId = claimed.body.gift_card_details.id;

    // Step 5
    const scanned = await api("POST", "/api/v1/merchant/scan/scan/", { token: merchantUser.token, body: { qr_data: reference } });
    expect(scanned.status).toBe(200);
    expect(scanned.body.can_redeem).toBe(true);
    expect(scanned.body.voucher_details).toMatchObject({ redemption_id: giftId, is_gift_card: true, purchase_reference: reference, title: "Free Coffee Gift Card" });
    expect(scanned.body.voucher_details.user_info).toMatchObject({ phone, is_original_purchaser: false });

    // Step 6
    const redeemed = await api("POST", "/api/v1/merchant/scan/redeem/", {
      token: merchantUser.token,
      body: { redemption_id: giftId, location: "Main Store", notes: "Gift card redeemed successfully", quantity: 1 },
    });
    expect(redeemed.status).toBe(200);
    expect(redeemed.body).toMatchObject({ purchase_reference: reference, remaining_redemptions: 0, merchant_name: "Coffee Shop Flow", quantity_redeemed: 1 });

    // The buyer's own purchase is untouched by the recipient's use.
    const own = await api("POST", "/api/v1/merchant/scan/scan/", { token: merchantUser.token, body: { qr_data: bought.body.purchase_reference } });
    expect(own.body.can_redeem).toBe(true);
    const again = await api("POST", "/api/v1/merchant/scan/scan/", { token: merchantUser.token, body: { qr_data: reference } });
    expect(again.body).toMatchObject({ can_redeem: false, reason_code: "used_up" });
  });
});

describe("the WhatsApp message of a share", () => {
  it("is sent to the WhatsApp Cloud API by the notifications consumer: URL, bearer token, recipient, text", async () => {
    const merchant = await insertMerchant();
    const voucher = await insertVoucher(merchant, { giftCard: true, title: "Free Coffee Gift Card" });
    const owner = await createUser();
    const purchase = await insertPurchase(owner, voucher);
    const enqueued: QueueMessage[] = [];
    // Capture the queue message notify() enqueues, so this test (not the background consumer) delivers it.
    const capturing = { ...env, NOTIFICATIONS: {
        send: async (m: QueueMessage) => void enqueued.push(m),
        sendBatch: async (batch: { body: QueueMessage }[]) => void enqueued.push(...batch.map((m) => m.body)),
      },
    } as unknown as Env;
    const phone = uniquePhone();
    const result = await shareGiftCard(capturing, { userId: owner.id, id: purchase.id, phoneNumbers: [phone] });
    const reference = result.shares_created[0]!.claim_reference;
    expect(enqueued).toHaveLength(1);
    expect(enqueued[0]!.type).toBe("notification.deliver");

    const url = `https://graph.facebook.com/v21.0/${CREDENTIALS.WHATSAPP_PHONE_NUMBER_ID}/messages`;
    outbound.on(url, { messaging_product: "whatsapp", messages: [{ id: "wamid.GIFT" }] });
    const outcome = await deliverNotifications([(enqueued[0] as { notification_id: string }).notification_id], { overrides: CREDENTIALS });
    expect(outcome.acked).toBe(1);

    const [request] = outbound.requestsTo(url);
    expect(request).toBeDefined();
    expect(request!.method).toBe("POST");
    expect(request!.headers.authorization).toBe(`Bearer ${CREDENTIALS.WHATSAPP_ACCESS_TOKEN}`);
    const body = JSON.parse(request!.body);
    expect(body).toMatchObject({ messaging_product: "whatsapp", to: phone.slice(1), type: "text" });
    expect(body.text.body).toContain(reference);
    expect(body.text.body).toContain("Free Coffee Gift Card");
    expect(body.text.body).toContain(`http://perks.test/gift-cards/claim?reference=${reference}`);
    const row = await env.DB.prepare("SELECT status, provider_message_id FROM notifications WHERE dedupe_key = ?").bind(`gift-share:${result.shares_created[0]!.share_id}`).first<any>();
    expect(row).toEqual({ status: "sent", provider_message_id: "wamid.GIFT" });
  });
});
