import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { api, isCleanError } from "../../helpers/api";
import { createUser } from "../../helpers/factories";
import { insertMerchant, insertPurchase, insertVoucher, daysFromNow, redemptionRow, uniquePhone } from "../../helpers/voucher-factories";

async function giftCardOwner(options: { redemptionsPerPurchase?: number; giftCard?: boolean } = {}) {
  const merchant = await insertMerchant();
  const voucher = await insertVoucher(merchant, { giftCard: options.giftCard ?? true, redemptionsPerPurchase: options.redemptionsPerPurchase ?? 1 });
  const owner = await createUser();
  const purchase = await insertPurchase(owner, voucher, { total: options.redemptionsPerPurchase ?? 1 });
  return { merchant, voucher, owner, purchase };
}

const share = (token: string, id: number, phone_numbers: string[], prefix = "/api/v1") =>
  api("POST", `${prefix}/vouchers/${id}/share-gift-card/`, { token, body: { phone_numbers } });
const claim = (token: string, claim_reference: string, prefix = "/api/v1") =>
  api("POST", `${prefix}/gift-card-claim/claim/`, { token, body: { claim_reference } });

describe("sharing a gift card", () => {
  it("creates one share per valid number, reports invalid ones, and queues a WhatsApp message each", async () => {
    const { owner, purchase, voucher } = await giftCardOwner();
    const a = uniquePhone();
    const b = uniquePhone();
    const res = await share(owner.token, purchase.id, [a, `${b.slice(0, 3)} ${b.slice(3, 8)}-${b.slice(8)}`, "12345", a]);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      message: "Gift card shared successfully to 2 contacts",
      success_count: 2,
      failed_numbers: ["12345"],
      shares_created: [
        { phone_number: a, claim_reference: expect.stringMatching(/^GFT-[A-Z0-9]{8}$/), share_id: expect.any(Number) },
        { phone_number: b, claim_reference: expect.stringMatching(/^GFT-[A-Z0-9]{8}$/), share_id: expect.any(Number) },
      ],
      max_shares: 5,
      shares_remaining: 3,
      note: "Each recipient can claim and use the gift card independently",
    });
    const refs = res.body.shares_created.map((s: any) => s.claim_reference);
    expect(new Set(refs).size).toBe(2);
    const { results } = await env.DB.prepare("SELECT * FROM notifications WHERE user_id = ? AND channel = 'whatsapp' ORDER BY recipient").bind(owner.id).all<any>();
    expect(results).toHaveLength(2);
    for (const created of res.body.shares_created) {
      const note = results.find((n) => n.recipient === created.phone_number)!;
      expect(note.dedupe_key).toBe(`gift-share:${created.share_id}`);
      // The recipient never asked for it: not transactional, so it carries an opt-out.
      expect(note.category).toBe("system");
      expect(note.message).toMatch(/Stop these messages: http:\/\/perks\.test\/api\/v1\/opt-out\//);
      expect(note.message).toContain(created.claim_reference);
      expect(note.message).toContain(voucher.title);
      expect(note.message).toMatch(new RegExp(`https?://\\S+/gift-cards/claim\\?reference=${created.claim_reference}`));
    }
  });

  it("accepts the voucher id when the caller holds exactly one active purchase of it (spec example form)", async () => {
    // Keep purchase ids clear of voucher ids: a matching purchase id would (rightly) win.
    await env.DB.prepare("UPDATE sqlite_sequence SET seq = seq + 100000 WHERE name = 'voucher_redemptions'").run();
    const { owner, voucher, purchase } = await giftCardOwner();
    const res = await share(owner.token, voucher.id, [uniquePhone()], "/api/voucher");
    expect(purchase.id).not.toBe(voucher.id);
    expect(res.status).toBe(200);
    await insertPurchase(owner, voucher);
    const ambiguous = await share(owner.token, voucher.id, [uniquePhone()]);
    expect(ambiguous.status).toBe(400);
    expect(ambiguous.body.details.redemption_ids).toHaveLength(2);
  });

  it("refuses: someone else's purchase (404), a non-gift voucher, an expired or cancelled purchase, no valid number, over 20 numbers", async () => {
    const { purchase } = await giftCardOwner();
    const stranger = await createUser();
    expect((await share(stranger.token, purchase.id, [uniquePhone()])).status).toBe(404);

    const plain = await giftCardOwner({ giftCard: false });
    expect((await share(plain.owner.token, plain.purchase.id, [uniquePhone()])).status).toBe(400);

    const { owner, voucher } = await giftCardOwner();
    const expired = await insertPurchase(owner, voucher, { expiryDate: daysFromNow(-1) });
    expect((await share(owner.token, expired.id, [uniquePhone()])).body.code).toBe("EXPIRED");
    const cancelled = await insertPurchase(owner, voucher, { status: "cancelled" });
    expect((await share(owner.token, cancelled.id, [uniquePhone()])).status).toBe(400);

    const active = await insertPurchase(owner, voucher);
    const none = await share(owner.token, active.id, ["abc", "123"]);
    expect(none.status).toBe(400);
    expect(none.body.details.failed_numbers).toEqual(["abc", "123"]);
    const many = await share(owner.token, active.id, Array.from({ length: 21 }, () => uniquePhone()));
    expect(many.status).toBe(400);
    const count = await env.DB.prepare("SELECT COUNT(*) AS n FROM gift_card_shares WHERE source_redemption_id = ?").bind(active.id).first<{ n: number }>();
    expect(count!.n).toBe(0);
  });
});

describe("claiming a gift card", () => {
  async function sharedTo(phone: string, options: { redemptionsPerPurchase?: number } = {}) {
    const setup = await giftCardOwner(options);
    const res = await share(setup.owner.token, setup.purchase.id, [phone]);
    return { ...setup, reference: res.body.shares_created[0].claim_reference as string, shareId: res.body.shares_created[0].share_id as number };
  }

  it("gives the claimer their own gift redemption with the source purchase's expiry and uses", async () => {
    const phone = uniquePhone();
    const { reference, voucher, merchant, purchase, shareId } = await sharedTo(phone, { redemptionsPerPurchase: 3 });
    const recipient = await createUser({ phone });
    const res = await claim(recipient.token, reference.toLowerCase());
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      message: "Gift card claimed successfully!",
      gift_card_details: {
        id: expect.any(Number),
        title: voucher.title,
        merchant: merchant.businessName,
        voucher_type: "product",
        voucher_value: "Free Coffee (min bill: ₹0)",
        expiry_date: (await redemptionRow(purchase.id)).expiry_date,
        purchase_reference: reference,
        claim_reference: reference,
      },
      redemption_instructions: "You can now use this gift card at the merchant location",
    });
    const row = await redemptionRow(res.body.gift_card_details.id);
    expect(row).toMatchObject({ user_id: recipient.id, is_gift_voucher: 1, gift_share_id: shareId, purchase_cost: 0, total_redemptions: 3, remaining_redemptions: 3, purchase_reference: reference, purchase_status: "purchased", source_redemption_id: purchase.id });
  });

  it("10 concurrent claims of one reference: exactly one succeeds", async () => {
    const { reference, shareId } = await sharedTo(uniquePhone());
    const claimers = await Promise.all(Array.from({ length: 10 }, () => createUser()));
    const results = await Promise.all(claimers.map((c) => claim(c.token, reference)));
    expect(results.filter((r) => r.status === 200)).toHaveLength(1);
    for (const r of results.filter((r) => r.status !== 200)) expect(r.status).toBe(404);
    const count = await env.DB.prepare("SELECT COUNT(*) AS n FROM voucher_redemptions WHERE gift_share_id = ?").bind(shareId).first<{ n: number }>();
    expect(count!.n).toBe(1);
  });

  it("the same caller racing themselves also gets one redemption", async () => {
    const { reference, shareId } = await sharedTo(uniquePhone());
    const claimer = await createUser();
    const results = await Promise.all(Array.from({ length: 10 }, () => claim(claimer.token, reference)));
    expect(results.filter((r) => r.status === 200)).toHaveLength(1);
    const count = await env.DB.prepare("SELECT COUNT(*) AS n FROM voucher_redemptions WHERE gift_share_id = ?").bind(shareId).first<{ n: number }>();
    expect(count!.n).toBe(1);
  });

  it("answers unknown and already-claimed references identically", async () => {
    const { reference } = await sharedTo(uniquePhone());
    expect((await claim((await createUser()).token, reference)).status).toBe(200);
    const again = await claim((await createUser()).token, reference);
    const unknown = await claim((await createUser()).token, "GFT-ZZZZZZZZ");
    expect(again.status).toBe(404);
    expect(unknown.status).toBe(again.status);
    expect(unknown.body.error).toBe(again.body.error);
    expect(unknown.body.code).toBe(again.body.code);
    expect(isCleanError(again.body)).toBe(true);
  });

  it("the reference is a bearer secret: a claimer with another phone on their profile may claim it", async () => {
    const { reference } = await sharedTo(uniquePhone());
    const otherPhone = await createUser({ phone: uniquePhone() });
    const res = await claim(otherPhone.token, reference);
    expect(res.status).toBe(200);
    const share = await env.DB.prepare("SELECT is_claimed, claimed_by FROM gift_card_shares WHERE claim_reference = ?").bind(reference).first<any>();
    expect(share).toEqual({ is_claimed: 1, claimed_by: otherPhone.id });
  });

  it("the sharer cannot claim their own share", async () => {
    const { reference, owner } = await sharedTo(uniquePhone());
    const res = await claim(owner.token, reference);
    expect(res.status).toBe(400);
    expect(res.body.error).toMatch(/cannot claim a gift card you shared/);
  });

  it("refuses a share whose source purchase was refunded", async () => {
    const { reference, purchase } = await sharedTo(uniquePhone());
    await env.DB.prepare("UPDATE voucher_redemptions SET purchase_status = 'refunded' WHERE id = ?").bind(purchase.id).run();
    const res = await claim((await createUser()).token, reference);
    expect(res.status).toBe(400);
    expect(res.body.code).toBe("NOT_REDEEMABLE");
  });

  it("lists my gift cards and what I shared, in the spec's shapes", async () => {
    const phone = uniquePhone();
    const { reference, owner, voucher, merchant } = await sharedTo(phone);
    await api("POST", "/api/v1/whatsapp-contacts/sync-contacts/", { token: owner.token, body: { contacts: [{ name: "John Doe", phone_number: phone }] } });
    const recipient = await createUser({ phone });
    const claimed = await claim(recipient.token, reference, "/api/voucher");
    expect(claimed.status).toBe(200);

    const mine = await api("GET", "/api/v1/gift-card-claim/my-gift-cards/", { token: recipient.token });
    expect(mine.status).toBe(200);
    expect(mine.body).toEqual({
      gift_cards: [
        {
          id: claimed.body.gift_card_details.id,
          title: voucher.title,
          merchant: merchant.businessName,
          voucher_type: "product",
          voucher_value: "Free Coffee (min bill: ₹0)",
          purchased_at: expect.any(String),
          expiry_date: expect.any(String),
          purchase_reference: reference,
          purchase_status: "purchased",
          can_redeem: true,
          remaining_redemptions: 1,
        },
      ],
      total_count: 1,
      message: "Your claimed gift cards",
    });

    const shared = await api("GET", "/api/voucher/gift-card-claim/shared-by-me/", { token: owner.token });
    expect(shared.status).toBe(200);
    expect(shared.body).toEqual({
      shares: [
        {
          share_id: expect.any(Number),
          recipient_phone: phone,
          recipient_name: "John Doe",
          voucher_title: voucher.title,
          shared_via: "whatsapp",
          shared_at: expect.any(String),
          is_claimed: true,
          claimed_at: expect.any(String),
          claim_reference: reference,
        },
      ],
      total_count: 1,
      message: "Gift cards shared by you",
    });
    expect((await api("GET", "/api/v1/gift-card-claim/my-gift-cards/")).status).toBe(401);
  });
});
