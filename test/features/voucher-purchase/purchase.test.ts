import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { api, isCleanError } from "../../helpers/api";
import { createUser, walletState } from "../../helpers/factories";
import { createMerchantViaApi, createVoucherViaApi, purchaseViaApi, redemptionRow, voucherRow } from "../../helpers/marketplace-api";

const COST = 1000; // site setting voucher_cost: 10 points

describe("POST /voucher-purchase/purchase/", () => {
  it("debits the voucher cost and answers with the spec's fields at both path forms", async () => {
    const merchant = await createMerchantViaApi();
    const voucher = await createVoucherViaApi(merchant, { redemptions_per_purchase: 2, validity_days: 30 });
    const buyer = await createUser({ balance: 10_000 });

    const res = await api("POST", "/api/voucher/voucher-purchase/purchase/", { token: buyer.token, body: { voucher_id: voucher.id } });
    expect(res.status).toBe(201);
    expect(Object.keys(res.body).sort()).toEqual(
      ["message", "voucher_id", "voucher_title", "purchase_cost", "remaining_balance", "redemption_id", "purchase_reference", "expiry_date", "transaction_id"].sort(),
    );
    expect(res.body).toMatchObject({ message: "Voucher purchased successfully", voucher_id: voucher.id, voucher_title: voucher.title, purchase_cost: 10, remaining_balance: 90 });
    expect(res.body.purchase_reference).toMatch(/^VCH-[A-Z2-9]{8}$/);
    const days = (Date.parse(res.body.expiry_date) - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(29.9);
    expect(days).toBeLessThanOrEqual(30);

    const row = await redemptionRow(res.body.redemption_id);
    expect(row).toMatchObject({ user_id: buyer.id, purchase_status: "purchased", total_redemptions: 2, remaining_redemptions: 2, purchase_cost: COST, transaction_id: res.body.transaction_id });
    const tx = await env.DB.prepare("SELECT type, amount, status FROM transactions WHERE id = ?").bind(res.body.transaction_id).first();
    expect(tx).toEqual({ type: "VOUCHER_PURCHASE", amount: COST, status: "SUCCESS" });
    expect((await voucherRow(voucher.id)).sold_count).toBe(1);
    const wallet = await walletState(buyer.id);
    expect(wallet.balance).toBe(9_000);
    expect(wallet.ledger_sum).toBe(9_000);

    const again = await api("POST", "/api/v1/voucher-purchase/purchase", { token: buyer.token, body: { voucher_id: voucher.id } });
    expect(again.status).toBe(201);
    expect(again.body.purchase_reference).not.toBe(res.body.purchase_reference);
  });

  it("caps the expiry at the voucher's valid_until", async () => {
    const merchant = await createMerchantViaApi();
    const until = new Date(Date.now() + 3 * 86_400_000).toISOString();
    const voucher = await createVoucherViaApi(merchant, { valid_until: until, validity_days: 365 });
    const buyer = await createUser({ balance: 5_000 });
    const res = await purchaseViaApi(buyer.token, voucher.id);
    expect(res.status).toBe(201);
    expect(res.body.expiry_date).toBe(until);
  });

  it("sells a count of 5 exactly five times to 30 concurrent buyers, and debits exactly five wallets", async () => {
    const merchant = await createMerchantViaApi();
    const voucher = await createVoucherViaApi(merchant, { count: 5 });
    const buyers = await Promise.all(Array.from({ length: 30 }, () => createUser({ balance: 5_000 })));

    const responses = await Promise.all(buyers.map((b) => purchaseViaApi(b.token, voucher.id)));
    const statuses = responses.map((r) => r.status);
    expect(statuses.filter((s) => s === 201)).toHaveLength(5);
    const refused = responses.filter((r) => r.status !== 201);
    expect(refused).toHaveLength(25);
    for (const r of refused) {
      expect(r.status).toBe(400);
      expect(r.body.code).toBe("SOLD_OUT");
      expect(isCleanError(r.body)).toBe(true);
    }

    expect((await voucherRow(voucher.id)).sold_count).toBe(5);
    const rows = await env.DB.prepare("SELECT COUNT(*) AS n FROM voucher_redemptions WHERE voucher_id = ?").bind(voucher.id).first<{ n: number }>();
    expect(rows!.n).toBe(5);
    const states = await Promise.all(buyers.map((b) => walletState(b.id)));
    expect(states.reduce((sum, s) => sum + s.debits, 0)).toBe(5);
    for (const s of states) expect(s.balance).toBe(s.ledger_sum);
    expect(states.filter((s) => s.balance === 4_000)).toHaveLength(5);
    const purchases = await env.DB.prepare(
      "SELECT COUNT(*) AS n FROM transactions WHERE type = 'VOUCHER_PURCHASE' AND user_id IN (" + buyers.map((b) => b.id).join(",") + ")",
    ).first<{ n: number }>();
    expect(purchases!.n).toBe(5);
  });

  it("50 concurrent purchases against one wallet that can pay for 30: exactly 30 bought, 20 refused for balance, money and stock agree", async () => {
    const merchant = await createMerchantViaApi();
    const voucher = await createVoucherViaApi(merchant);
    const buyer = await createUser({ balance: 30_000 });

    const responses = await Promise.all(Array.from({ length: 50 }, (_, i) => purchaseViaApi(buyer.token, voucher.id, { "Idempotency-Key": `hot-wallet-${i}-${buyer.id}` })));
    const bought = responses.filter((r) => r.status === 201);
    expect(bought).toHaveLength(30);
    const refused = responses.filter((r) => r.status !== 201);
    expect(refused).toHaveLength(20);
    for (const r of refused) {
      expect(r.status).toBe(400);
      expect(r.body).toMatchObject({ code: "INSUFFICIENT_BALANCE", details: { balance: "0.00", required: "10.00" } });
      expect(isCleanError(r.body)).toBe(true);
    }
    // Each answer's balance is the one its own debit left: 29 000, 28 000, ... 0, each once.
    expect(bought.map((r) => r.body.remaining_balance).sort((a, b) => a - b)).toEqual(Array.from({ length: 30 }, (_, i) => i * 10));
    expect(await walletState(buyer.id)).toEqual({ balance: 0, ledger_sum: 0, debits: 30 });
    expect((await voucherRow(voucher.id)).sold_count).toBe(30);
    const rows = await env.DB.prepare("SELECT COUNT(*) AS n FROM voucher_redemptions WHERE voucher_id = ? AND user_id = ?").bind(voucher.id, buyer.id).first<{ n: number }>();
    expect(rows!.n).toBe(30);
  });

  it("a retry of the purchase that spent the last points replays that purchase (201), though the balance could not pay it again", async () => {
    const merchant = await createMerchantViaApi();
    const voucher = await createVoucherViaApi(merchant);
    const buyer = await createUser({ balance: COST });
    const headers = { "Idempotency-Key": `last-points-${buyer.id}` };
    const first = await purchaseViaApi(buyer.token, voucher.id, headers);
    expect(first.status).toBe(201);
    expect(first.body.remaining_balance).toBe(0);
    const retries = await Promise.all(Array.from({ length: 3 }, () => purchaseViaApi(buyer.token, voucher.id, headers)));
    for (const retry of retries) {
      expect(retry.status).toBe(201);
      expect(retry.headers.get("idempotent-replayed")).toBe("true");
      expect(retry.body).toEqual(first.body);
    }
    expect(await walletState(buyer.id)).toEqual({ balance: 0, ledger_sum: 0, debits: 1 });
    expect((await voucherRow(voucher.id)).sold_count).toBe(1);
  });

  it("a buyer whose wallet was never created is told the balance is insufficient (400), not a 500, and nothing is sold", async () => {
    const merchant = await createMerchantViaApi();
    const voucher = await createVoucherViaApi(merchant);
    const buyer = await createUser();
    await env.DB.prepare("DELETE FROM wallets WHERE user_id = ?").bind(buyer.id).run();
    const res = await purchaseViaApi(buyer.token, voucher.id, { "Idempotency-Key": `no-wallet-${buyer.id}` });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ code: "INSUFFICIENT_BALANCE", details: { balance: "0.00", required: "10.00" } });
    expect(isCleanError(res.body)).toBe(true);
    expect((await voucherRow(voucher.id)).sold_count).toBe(0);
  });

  it("buys once for the same Idempotency-Key, sequential or concurrent", async () => {
    const merchant = await createMerchantViaApi();
    const voucher = await createVoucherViaApi(merchant);
    const buyer = await createUser({ balance: 10_000 });
    const headers = { "Idempotency-Key": "buy-once-0001" };

    const first = await purchaseViaApi(buyer.token, voucher.id, headers);
    const second = await purchaseViaApi(buyer.token, voucher.id, headers);
    expect(first.status).toBe(201);
    expect(second.status).toBe(201);
    expect(second.headers.get("idempotent-replayed")).toBe("true");
    expect(second.body).toEqual(first.body);

    const burst = await Promise.all(Array.from({ length: 8 }, () => purchaseViaApi(buyer.token, voucher.id, { "Idempotency-Key": "buy-once-0002" })));
    const ok = burst.filter((r) => r.status === 201);
    expect(new Set(ok.map((r) => r.body.redemption_id)).size).toBe(1);
    for (const r of burst.filter((r) => r.status !== 201)) expect(r.body.code).toBe("IDEMPOTENCY_IN_PROGRESS");

    const wallet = await walletState(buyer.id);
    expect(wallet.debits).toBe(2);
    expect(wallet.balance).toBe(8_000);
    expect((await voucherRow(voucher.id)).sold_count).toBe(2);

    const other = await purchaseViaApi(buyer.token, voucher.id + 1000, headers);
    expect(other.status).toBe(422);
  });

  it("concurrent buyers of one voucher each get their own row, debit and balance", async () => {
    const merchant = await createMerchantViaApi();
    const voucher = await createVoucherViaApi(merchant);
    const buyers = await Promise.all(Array.from({ length: 6 }, (_, i) => createUser({ balance: 10_000 + i * 1_000 })));
    const responses = await Promise.all(
      buyers.flatMap((buyer, i) => [0, 1].map((n) => purchaseViaApi(buyer.token, voucher.id, { "Idempotency-Key": `own-params-${buyer.id}-${n}-${i}` }))),
    );
    expect(responses.map((r) => r.status)).toEqual(Array(12).fill(201));
    for (const [i, buyer] of buyers.entries()) {
      const own = responses.slice(i * 2, i * 2 + 2);
      for (const res of own) expect(await redemptionRow(res.body.redemption_id)).toMatchObject({ user_id: buyer.id, purchase_reference: res.body.purchase_reference });
      // Two debits of 10 points from this buyer's own start, in either order.
      const start = (10_000 + i * 1_000) / 100;
      expect(own.map((r) => r.body.remaining_balance).sort((a, b) => b - a)).toEqual([start - 10, start - 20]);
      const wallet = await walletState(buyer.id);
      expect([wallet.balance, wallet.ledger_sum, wallet.debits]).toEqual([start * 100 - 2_000, start * 100 - 2_000, 2]);
    }
    expect((await voucherRow(voucher.id)).sold_count).toBe(12);
  });

  it("refuses with clear errors: insufficient balance, not found, inactive, expired, sold out", async () => {
    const merchant = await createMerchantViaApi();
    const voucher = await createVoucherViaApi(merchant, { count: 1 });
    const poor = await createUser({ balance: 999 });
    const rich = await createUser({ balance: 10_000 });

    const broke = await purchaseViaApi(poor.token, voucher.id);
    expect(broke.status).toBe(400);
    expect(broke.body.code).toBe("INSUFFICIENT_BALANCE");
    expect((await voucherRow(voucher.id)).sold_count).toBe(0);
    expect((await walletState(poor.id)).balance).toBe(999);

    expect((await purchaseViaApi(rich.token, 987_654)).status).toBe(404);

    expect((await purchaseViaApi(rich.token, voucher.id)).status).toBe(201);
    const soldOut = await purchaseViaApi(rich.token, voucher.id);
    expect(soldOut.body.code).toBe("SOLD_OUT");

    const inactive = await createVoucherViaApi(merchant, { is_active: false });
    const inactiveRes = await purchaseViaApi(rich.token, inactive.id);
    expect([inactiveRes.status, inactiveRes.body.code]).toEqual([400, "INACTIVE"]);

    const expired = await createVoucherViaApi(merchant);
    await env.DB.prepare("UPDATE vouchers SET valid_until = ? WHERE id = ?").bind(new Date(Date.now() - 1000).toISOString(), expired.id).run();
    const expiredRes = await purchaseViaApi(rich.token, expired.id);
    expect([expiredRes.status, expiredRes.body.code]).toEqual([400, "EXPIRED"]);

    expect((await walletState(rich.id)).balance).toBe(9_000);
    const unauth = await api("POST", "/api/v1/voucher-purchase/purchase/", { body: { voucher_id: voucher.id } });
    expect(unauth.status).toBe(401);
    const strict = await api("POST", "/api/v1/voucher-purchase/purchase/", { token: rich.token, body: { voucher_id: voucher.id, purchase_cost: 0 } });
    expect(strict.status).toBe(400);
  });
});

async function boughtVoucher(balance = 10_000, body: Record<string, unknown> = {}) {
  const merchant = await createMerchantViaApi();
  const voucher = await createVoucherViaApi(merchant, { count: 10, ...body });
  const buyer = await createUser({ balance });
  const res = await purchaseViaApi(buyer.token, voucher.id);
  expect(res.status).toBe(201);
  return { merchant, voucher, buyer, redemptionId: res.body.redemption_id as number, reference: res.body.purchase_reference as string };
}

type Bought = Awaited<ReturnType<typeof boughtVoucher>>;
type Settle = "cancel" | "refund";

/** The buyer cancels or refunds their purchase (at `/api/v1` unless another path form is given). */
const settle = (a: Bought, action: Settle, extra: Record<string, unknown> = {}, token = a.buyer.token, base = "/api/v1") =>
  api("POST", `${base}/voucher-purchase/${action}/`, { token, body: { redemption_id: a.redemptionId, ...extra } });

const refundEntries = (userId: number) =>
  env.DB.prepare("SELECT amount, kind, transaction_id FROM ledger_entries WHERE user_id = ? AND kind = 'refund'").bind(userId).all().then((r) => r.results);

// A cancel gives the stock back but not the points; a refund gives both back, with a ledger entry.
const SETTLEMENTS = [
  { action: "cancel", reason: "Changed my mind", status: "cancelled", message: "Voucher purchase cancelled successfully", balance: 9_000, refunded: false, transaction: "SUCCESS" },
  { action: "refund", reason: "Not satisfied", status: "refunded", message: "Voucher purchase refunded successfully", balance: 10_000, refunded: true, transaction: "REFUNDED" },
] as const;

describe("cancel and refund", () => {
  it.each(SETTLEMENTS)("$action returns the stock and leaves a balance of $balance (original transaction $transaction)", async (t) => {
    const a = await boughtVoucher();
    const res = await settle(a, t.action, { reason: t.reason }, a.buyer.token, "/api/voucher");
    expect(res.status).toBe(200);
    const row = await redemptionRow(a.redemptionId);
    expect(res.body).toEqual({
      message: t.message,
      voucher_title: a.voucher.title,
      purchase_reference: a.reference,
      purchase_status: t.status,
      // A refund answers with the refund's own transaction; a cancel with the purchase's.
      transaction_id: t.refunded ? expect.any(String) : row.transaction_id,
      ...(t.refunded ? { refund_amount: 10, remaining_balance: 100 } : {}),
    });
    expect(row).toMatchObject({ purchase_status: t.status, status_reason: t.reason });
    expect((await voucherRow(a.voucher.id)).sold_count).toBe(0);
    expect(await walletState(a.buyer.id)).toMatchObject({ balance: t.balance, ledger_sum: t.balance });
    expect(await refundEntries(a.buyer.id)).toEqual(t.refunded ? [{ amount: COST, kind: "refund", transaction_id: res.body.transaction_id }] : []);
    const original = await env.DB.prepare("SELECT status FROM transactions WHERE id = ?").bind(row.transaction_id).first();
    expect(original).toEqual({ status: t.transaction });
  });

  it.each(SETTLEMENTS)("ten concurrent repeats of $action take effect once", async (t) => {
    const a = await boughtVoucher();
    const responses = await Promise.all(Array.from({ length: 10 }, () => settle(a, t.action)));
    expect(responses.filter((r) => r.status === 200)).toHaveLength(1);
    for (const r of responses.filter((r) => r.status !== 200)) expect([r.status, r.body.code]).toEqual([409, "ALREADY_PROCESSED"]);
    expect((await redemptionRow(a.redemptionId)).purchase_status).toBe(t.status);
    expect(await walletState(a.buyer.id)).toMatchObject({ balance: t.balance, ledger_sum: t.balance });
    expect(await refundEntries(a.buyer.id)).toHaveLength(t.refunded ? 1 : 0);
    expect((await voucherRow(a.voucher.id)).sold_count).toBe(0);
  });

  it("cancel and refund racing each other: exactly one wins, and the money matches the winner", async () => {
    const a = await boughtVoucher();
    const responses = await Promise.all(Array.from({ length: 10 }, (_, i) => settle(a, i % 2 ? "refund" : "cancel")));
    const winners = responses.filter((r) => r.status === 200);
    expect(winners).toHaveLength(1);
    for (const r of responses.filter((r) => r.status !== 200)) expect(r.body.code).toBe("ALREADY_PROCESSED");
    const row = await redemptionRow(a.redemptionId);
    expect(row.purchase_status).toBe(winners[0]!.body.purchase_status);
    expect((await walletState(a.buyer.id)).balance).toBe(row.purchase_status === "refunded" ? 10_000 : 9_000);
    expect((await voucherRow(a.voucher.id)).sold_count).toBe(0);
  });

  it("the D1 guard refuses a refund once anything was redeemed, and rolls the credit back", async () => {
    const a = await boughtVoucher();
    await env.DB.prepare("UPDATE vouchers SET redemptions_per_purchase = 2 WHERE id = ?").bind(a.voucher.id).run();
    await env.DB.prepare("UPDATE voucher_redemptions SET total_redemptions = 2, remaining_redemptions = 1 WHERE id = ?").bind(a.redemptionId).run();
    const refund = await settle(a, "refund");
    expect([refund.status, refund.body.code]).toEqual([409, "CONFLICT"]);
    const cancel = await settle(a, "cancel");
    expect(cancel.status).toBe(409);
    expect((await walletState(a.buyer.id)).balance).toBe(9_000);

    // Directly against D1: the trigger itself refuses, whatever the service checked before.
    await expect(
      env.DB.prepare("UPDATE voucher_redemptions SET purchase_status = 'refunded', status_changed_at = ? WHERE id = ?").bind(new Date().toISOString(), a.redemptionId).run(),
    ).rejects.toThrow(/redemption_not_cancellable/);
  });

  it("a claimed gift card (nothing paid) cannot be refunded", async () => {
    const a = await boughtVoucher();
    await env.DB.prepare("UPDATE voucher_redemptions SET is_gift_voucher = 1, purchase_cost = 0 WHERE id = ?").bind(a.redemptionId).run();
    const refund = await settle(a, "refund");
    expect(refund.status).toBe(400);
    expect((await walletState(a.buyer.id)).balance).toBe(9_000);
  });

  it("a gift card that was shared can be neither cancelled nor refunded", async () => {
    const a = await boughtVoucher(10_000, { is_gift_card: true });
    await env.DB.prepare(
      "INSERT INTO gift_card_shares (source_redemption_id, voucher_id, sharer_id, recipient_phone, claim_reference, created_at) VALUES (?, ?, ?, '+919876543210', ?, ?)",
    )
      .bind(a.redemptionId, a.voucher.id, a.buyer.id, `GFT-T${a.redemptionId}`, new Date().toISOString())
      .run();
    for (const action of ["refund", "cancel"] as const) {
      const res = await settle(a, action);
      expect([res.status, res.body.code]).toEqual([409, "CONFLICT"]);
      expect(res.body.error).toMatch(/shared/);
    }
    expect((await walletState(a.buyer.id)).balance).toBe(9_000);
    expect((await voucherRow(a.voucher.id)).sold_count).toBe(1);
    expect((await redemptionRow(a.redemptionId)).purchase_status).toBe("purchased");
  });

  it("another user's purchase is 404 for cancel, refund and QR code", async () => {
    const a = await boughtVoucher();
    const stranger = await createUser({ balance: 1_000 });
    for (const action of ["cancel", "refund"] as const) {
      const res = await settle(a, action, {}, stranger.token);
      expect(res.status).toBe(404);
      expect(isCleanError(res.body)).toBe(true);
    }
    expect((await api("GET", `/api/v1/user-vouchers/${a.redemptionId}/qr-code/`, { token: stranger.token })).status).toBe(404);
    expect((await api("GET", `/api/v1/user-vouchers/${a.redemptionId}/qr-code.svg`, { token: stranger.token })).status).toBe(404);
    const list = await api("GET", "/api/v1/user-vouchers/", { token: stranger.token });
    expect(list.body.results.map((r: any) => r.id)).not.toContain(a.redemptionId);
    expect((await redemptionRow(a.redemptionId)).purchase_status).toBe("purchased");
  });
});

describe("a voucher_cost of 0", () => {
  it("sells without touching the wallet, still taking stock", async () => {
    const merchant = await createMerchantViaApi();
    const voucher = await createVoucherViaApi(merchant, { count: 1 });
    const buyer = await createUser({ balance: 0 });
    await env.DB.prepare("UPDATE site_settings SET value = '0' WHERE key = 'voucher_cost'").run();
    try {
      const res = await purchaseViaApi(buyer.token, voucher.id);
      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({ purchase_cost: 0, remaining_balance: 0, transaction_id: null });
      expect((await redemptionRow(res.body.redemption_id)).purchase_reference).toBe(res.body.purchase_reference);
      expect((await purchaseViaApi(buyer.token, voucher.id)).body.code).toBe("SOLD_OUT");
      const refund = await api("POST", "/api/v1/voucher-purchase/refund/", { token: buyer.token, body: { redemption_id: res.body.redemption_id } });
      expect(refund.status).toBe(400);
      expect((await walletState(buyer.id)).debits).toBe(0);
    } finally {
      await env.DB.prepare("UPDATE site_settings SET value = '1000' WHERE key = 'voucher_cost'").run();
    }
  });
});
