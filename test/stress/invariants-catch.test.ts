// The checkers themselves under test: a consistent state reports nothing, and each deliberately
// broken write (the kind of bug a careless refund or redeem would make) is reported.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createUser, unique } from "../helpers/factories";
import {
  checkActivationRefunds,
  checkConservation,
  checkGiftClaims,
  checkInvariants,
  checkNoNegativeBalance,
  checkRedemptions,
  checkShareCap,
  checkStock,
  checkVoucherRefunds,
  type Violation,
} from "./invariants";

const NOW = "2026-11-01T00:00:00.000Z";
const PRICE = 2000;

const about = (violations: Violation[], subject: string) => violations.filter((v) => v.subject.startsWith(subject));

/** A failed activation, debited and refunded once, written as the activation service writes it. */
async function failedActivation(options: { refunds?: number } = {}) {
  const user = await createUser({ balance: 10_000 });
  const txId = crypto.randomUUID();
  const statements = [
    env.DB.prepare(
      "INSERT INTO transactions (id, user_id, type, status, amount, created_at, updated_at) VALUES (?, ?, 'ACTIVATION', 'FAILED', ?, ?, ?)",
    ).bind(txId, user.id, PRICE, NOW, NOW),
    ...ledger(user.id, -PRICE, "debit", txId, `activation:${txId}`),
  ];
  for (let i = 0; i < (options.refunds ?? 1); i++) statements.push(...ledger(user.id, PRICE, "refund", txId, `activation-refund:${txId}:${i}`));
  await env.DB.batch(statements);
  return { user, txId };
}

/** A ledger entry and the matching wallet move, so only the invariant under test is broken. */
function ledger(userId: number, amount: number, kind: string, txId: string | null, key: string): D1PreparedStatement[] {
  return [
    env.DB.prepare(
      `INSERT INTO ledger_entries (user_id, amount, balance_after, kind, transaction_id, idempotency_key, note, created_at)
       SELECT ?1, ?2, balance + ?2, ?3, ?4, ?5, 'invariants-catch', ?6 FROM wallets WHERE user_id = ?1`,
    ).bind(userId, amount, kind, txId, key, NOW),
    env.DB.prepare("UPDATE wallets SET balance = balance + ? WHERE user_id = ?").bind(amount, userId),
  ];
}

async function merchantWithVoucher(count: number | null) {
  const owner = await createUser({ role: "merchant" });
  const merchant = await env.DB.prepare("INSERT INTO merchants (user_id, business_name, created_at, updated_at) VALUES (?, ?, ?, ?) RETURNING id")
    .bind(owner.id, unique("shop"), NOW, NOW)
    .first<{ id: number }>();
  const voucher = await env.DB.prepare(
    "INSERT INTO vouchers (uuid, merchant_id, title, voucher_type, product_name, count, sold_count, redemptions_per_purchase, is_gift_card, created_at, updated_at) VALUES (?, ?, 'Coffee', 3, 'Coffee', ?, 0, 3, 1, ?, ?) RETURNING id",
  )
    .bind(crypto.randomUUID(), merchant!.id, count, NOW, NOW)
    .first<{ id: number }>();
  return { owner, merchantId: merchant!.id, voucherId: voucher!.id };
}

/** A purchase (or, with `gift`, a claimed copy) and its stock unit; `uncounted` skips the unit, as a buggy claim would. */
async function purchase(
  v: { merchantId: number; voucherId: number },
  userId: number,
  options: { gift?: boolean; status?: string; uncounted?: boolean } = {},
) {
  const ref = unique("VCH-");
  const statements = [
    env.DB.prepare(
      `INSERT INTO voucher_redemptions (uuid, voucher_id, merchant_id, user_id, purchase_reference, purchase_status, is_gift_voucher, purchase_cost,
         total_redemptions, remaining_redemptions, purchased_at, expiry_date, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, 1000, 3, 3, ?, '2099-01-01T00:00:00.000Z', ?) RETURNING id`,
    ).bind(crypto.randomUUID(), v.voucherId, v.merchantId, userId, ref, options.status ?? "purchased", options.gift ? 1 : 0, NOW, NOW),
  ];
  const counter = options.gift ? "claimed_count" : "sold_count";
  if (!options.uncounted && (options.status ?? "purchased") === "purchased")
    statements.push(env.DB.prepare(`UPDATE vouchers SET ${counter} = ${counter} + 1 WHERE id = ?`).bind(v.voucherId));
  const [inserted] = await env.DB.batch<{ id: number }>(statements);
  return { id: inserted!.results[0]!.id, ref };
}

describe("invariant checkers", () => {
  it("report nothing for a consistent database", async () => {
    await failedActivation();
    const v = await merchantWithVoucher(5);
    const buyer = await createUser({ balance: 5000 });
    const p = await purchase(v, buyer.id);
    await env.DB.batch([
      env.DB.prepare("UPDATE voucher_redemptions SET remaining_redemptions = 1 WHERE id = ?").bind(p.id),
      env.DB.prepare(
        "INSERT INTO redemption_events (reference, redemption_id, merchant_id, redeemed_by, quantity, remaining_after, created_at) VALUES (?, ?, ?, ?, 2, 1, ?)",
      ).bind(unique("RED-"), p.id, v.merchantId, v.owner.id, NOW),
    ]);
    expect(await checkInvariants(env.DB)).toEqual([]);
  });

  it("catch a failed activation refunded twice", async () => {
    const { txId } = await failedActivation({ refunds: 2 });
    const found = about(await checkActivationRefunds(env.DB), `activation ${txId}`);
    expect(found).toEqual([expect.objectContaining({ invariant: "failed-activation-refunded-once", detail: expect.stringContaining("2 refund entries") })]);
    // The double refund kept the ledger and the wallet in step: only the refund rule sees it.
    expect(await checkConservation(env.DB)).toEqual([]);
  });

  it("catch a failed activation never refunded, and a successful one refunded", async () => {
    const { txId: unrefunded } = await failedActivation({ refunds: 0 });
    const { txId: succeeded } = await failedActivation();
    await env.DB.prepare("UPDATE transactions SET status = 'SUCCESS' WHERE id = ?").bind(succeeded).run();
    const found = await checkActivationRefunds(env.DB);
    expect(about(found, `activation ${unrefunded}`).map((v) => v.invariant)).toEqual(["failed-activation-refunded-once"]);
    expect(about(found, `activation ${succeeded}`).map((v) => v.detail)).toEqual([expect.stringContaining("expected 0")]);
  });

  it("catch a refund that credits the wallet without a ledger entry", async () => {
    const { user } = await failedActivation({ refunds: 0 });
    await env.DB.prepare("UPDATE wallets SET balance = balance + ? WHERE user_id = ?").bind(PRICE, user.id).run();
    expect(about(await checkConservation(env.DB), `wallet ${user.id}`)).toEqual([
      { invariant: "conservation", subject: `wallet ${user.id}`, detail: `balance 10000 != ledger sum 8000` },
    ]);
  });

  it("catch a negative balance in the ledger history", async () => {
    const user = await createUser({ balance: 100 });
    // Net zero, so the wallet still matches its ledger; only the history went below zero.
    const entry = env.DB.prepare(
      "INSERT INTO ledger_entries (user_id, amount, balance_after, kind, idempotency_key, created_at) VALUES (?, ?, ?, 'debit', ?, ?)",
    );
    await env.DB.batch([entry.bind(user.id, -300, -200, unique("overdraft"), NOW), entry.bind(user.id, 300, 100, unique("topup"), NOW)]);
    const found = await checkNoNegativeBalance(env.DB);
    expect(found).toEqual([expect.objectContaining({ invariant: "no-negative-balance", detail: `wallet ${user.id} went to -200` })]);
  });

  it("catch stock taken without a purchase, and a cancel that kept the stock", async () => {
    const v = await merchantWithVoucher(null);
    const buyer = await createUser();
    await purchase(v, buyer.id);
    await purchase(v, buyer.id, { gift: true });
    expect(about(await checkStock(env.DB), `voucher ${v.voucherId}`)).toEqual([]);
    await purchase(v, buyer.id, { status: "cancelled" });
    await env.DB.prepare("UPDATE vouchers SET sold_count = sold_count + 1 WHERE id = ?").bind(v.voucherId).run();
    expect(about(await checkStock(env.DB), `voucher ${v.voucherId}`)).toEqual([
      expect.objectContaining({
        invariant: "stock-matches-purchases",
        detail: "sold_count 2, claimed_count 1, count unlimited, standing purchases 1, standing claimed copies 1",
      }),
    ]);
  });

  it("catch claimed gift-card copies beyond the stock, even when the counters were never moved", async () => {
    const v = await merchantWithVoucher(2);
    const buyer = await createUser();
    await purchase(v, buyer.id);
    await purchase(v, buyer.id, { gift: true });
    expect(about(await checkStock(env.DB), `voucher ${v.voucherId}`)).toEqual([]);
    await purchase(v, buyer.id, { gift: true, uncounted: true });
    expect(about(await checkStock(env.DB), `voucher ${v.voucherId}`)).toEqual([
      expect.objectContaining({ invariant: "stock-not-oversold", detail: expect.stringContaining("standing claimed copies 2") }),
    ]);
  });

  it("catch a purchase shared past its cap (written around the database's guard)", async () => {
    const v = await merchantWithVoucher(null);
    const sharer = await createUser();
    const source = await purchase(v, sharer.id);
    const share = (i: number) =>
      env.DB.prepare(
        "INSERT INTO gift_card_shares (source_redemption_id, voucher_id, sharer_id, recipient_phone, claim_reference, created_at) VALUES (?, ?, ?, ?, ?, ?)",
      ).bind(source.id, v.voucherId, sharer.id, `+1555010${i}`, unique("GFT-"), NOW);
    for (let i = 0; i < 5; i++) await share(i).run();
    expect(about(await checkShareCap(env.DB), `purchase ${source.id}`)).toEqual([]);
    const guard = await env.DB.prepare("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = 'gift_card_shares_cap'").first<{ sql: string }>();
    await env.DB.prepare("DROP TRIGGER gift_card_shares_cap").run();
    try {
      await share(5).run();
    } finally {
      await env.DB.prepare(guard!.sql).run();
    }
    expect(about(await checkShareCap(env.DB), `purchase ${source.id}`)).toEqual([
      { invariant: "shares-within-cap", subject: `purchase ${source.id}`, detail: "6 shares for a cap of 5" },
    ]);
  });

  it("catch a redemption event that did not decrement the purchase", async () => {
    const v = await merchantWithVoucher(10);
    const buyer = await createUser();
    const p = await purchase(v, buyer.id);
    await env.DB.prepare(
      "INSERT INTO redemption_events (reference, redemption_id, merchant_id, redeemed_by, quantity, remaining_after, created_at) VALUES (?, ?, ?, ?, 1, 2, ?)",
    )
      .bind(unique("RED-"), p.id, v.merchantId, v.owner.id, NOW)
      .run();
    expect(about(await checkRedemptions(env.DB), `redemption ${p.id}`)).toEqual([
      expect.objectContaining({ invariant: "redemption-within-quantity", detail: "total 3, remaining 3, redeemed by events 1" }),
    ]);
  });

  it("catch a voucher refunded twice, and a cancelled purchase that got money back", async () => {
    const v = await merchantWithVoucher(null);
    const buyer = await createUser({ balance: 5000 });
    const refunded = await purchase(v, buyer.id, { status: "refunded" });
    const cancelled = await purchase(v, buyer.id, { status: "cancelled" });
    for (const [p, times] of [[refunded, 2], [cancelled, 1]] as const) {
      const txId = crypto.randomUUID();
      await env.DB.batch([
        env.DB.prepare("INSERT INTO transactions (id, user_id, type, status, amount, created_at, updated_at) VALUES (?, ?, 'VOUCHER_PURCHASE', 'REFUNDED', 1000, ?, ?)").bind(
          txId,
          buyer.id,
          NOW,
          NOW,
        ),
        env.DB.prepare("UPDATE voucher_redemptions SET transaction_id = ? WHERE id = ?").bind(txId, p.id),
      ]);
      for (let i = 0; i < times; i++) await env.DB.batch(ledger(buyer.id, 1000, "refund", txId, unique("voucher-refund")));
    }
    const found = await checkVoucherRefunds(env.DB);
    expect(about(found, `purchase ${refunded.id}`).map((x) => x.detail)).toEqual(["2 refunds totalling 2000 for a cost of 1000"]);
    expect(about(found, `purchase ${cancelled.id}`).map((x) => x.detail)).toEqual(["refunded 1000 but the purchase is cancelled"]);
  });

  it("catch a share marked claimed without a gift redemption", async () => {
    const v = await merchantWithVoucher(null);
    const sharer = await createUser();
    const claimer = await createUser();
    const source = await purchase(v, sharer.id);
    const share = await env.DB.prepare(
      "INSERT INTO gift_card_shares (source_redemption_id, voucher_id, sharer_id, recipient_phone, claim_reference, is_claimed, claimed_by, claimed_at, created_at) VALUES (?, ?, ?, '+15550100', ?, 1, ?, ?, ?) RETURNING id",
    )
      .bind(source.id, v.voucherId, sharer.id, unique("GFT-"), claimer.id, NOW, NOW)
      .first<{ id: number }>();
    expect(about(await checkGiftClaims(env.DB), `share ${share!.id}`)).toEqual([
      { invariant: "gift-claimed-once", subject: `share ${share!.id}`, detail: "is_claimed 1 with 0 gift redemptions" },
    ]);
  });
});
