import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { applyToD1 } from "../../../src/features/wallet/wallet.ledger";
import { walletApply } from "../../../src/features/wallet/wallet.service";
import { createUser, unique, walletState } from "../../helpers/factories";

describe("wallet core", () => {
  it("N concurrent debits of a on balance B through the wallet give exactly floor(B/a) successes", async () => {
    const user = await createUser({ balance: 1000 });
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, i) => walletApply(env, { userId: user.id, amount: -300, kind: "debit", idempotencyKey: `debit:${i}` })),
    );
    expect(results.filter((r) => r.ok)).toHaveLength(3);
    expect(results.filter((r) => !r.ok && r.reason === "INSUFFICIENT_FUNDS")).toHaveLength(37);
    expect(await walletState(user.id)).toEqual({ balance: 100, ledger_sum: 100, debits: 3 });
  });

  it("the D1 batch alone refuses an overdraft, without the Durable Object's queue", async () => {
    const user = await createUser({ balance: 1000 });
    const results = await Promise.all(
      Array.from({ length: 30 }, (_, i) => applyToD1(env.DB, { userId: user.id, amount: -100, kind: "debit", idempotencyKey: `raw:${i}` })),
    );
    expect(results.filter((r) => r.ok)).toHaveLength(10);
    expect(await walletState(user.id)).toEqual({ balance: 0, ledger_sum: 0, debits: 10 });
  });

  it("a refused debit writes nothing: no transaction row, no extra statements", async () => {
    const user = await createUser({ balance: 50 });
    const marker = unique("nonce");
    const result = await walletApply(env, {
      userId: user.id,
      amount: -100,
      kind: "debit",
      idempotencyKey: unique("k"),
      transaction: { type: "ACTIVATION" },
      statements: [{ sql: "INSERT INTO webhook_nonces (nonce, source, created_at) VALUES (?, 'test', 'now')", params: [marker] }],
    });
    expect(result).toEqual({ ok: false, reason: "INSUFFICIENT_FUNDS", balance: 50 });
    expect(await env.DB.prepare("SELECT nonce FROM webhook_nonces WHERE nonce = ?").bind(marker).first()).toBeNull();
    expect(await env.DB.prepare("SELECT COUNT(*) AS n FROM transactions WHERE user_id = ?").bind(user.id).first()).toEqual({ n: 0 });
  });

  it("a guarded column that comes out NULL aborts the whole batch, debit included, and is answered as the guard's named refusal", async () => {
    const user = await createUser({ balance: 1000 });
    const marker = unique("guard");
    // webhook_nonces.source is NOT NULL: here it takes its value from a subquery that finds nothing (the terms no longer hold).
    const guarded = (holds: boolean) => ({
      userId: user.id,
      amount: -100,
      kind: "debit" as const,
      idempotencyKey: unique("k"),
      transaction: { type: "ACTIVATION" },
      statements: [{ sql: "INSERT INTO webhook_nonces (nonce, source, created_at) VALUES (?, (SELECT 'test' WHERE ?), 'now')", params: [marker, holds ? 1 : 0] }],
      guard: { column: "webhook_nonces.source", name: "test_terms_changed" },
    });
    expect(await walletApply(env, guarded(false))).toEqual({ ok: false, reason: "CONSTRAINT", constraint: "test_terms_changed" });
    expect(await applyToD1(env.DB, guarded(false))).toEqual({ ok: false, reason: "CONSTRAINT", constraint: "test_terms_changed" });
    // An operation that moves no money (a free voucher) is refused the same way.
    expect(await walletApply(env, { ...guarded(false), amount: 0, transaction: undefined })).toEqual({ ok: false, reason: "CONSTRAINT", constraint: "test_terms_changed" });
    expect(await walletState(user.id)).toEqual({ balance: 1000, ledger_sum: 1000, debits: 0 });
    expect(await env.DB.prepare("SELECT COUNT(*) AS n FROM transactions WHERE user_id = ?").bind(user.id).first()).toEqual({ n: 0 });
    // Without a guard naming it, the same NOT NULL is nobody's expected refusal: an error, not an answer.
    const { guard: _guard, ...unguarded } = guarded(false);
    await expect(applyToD1(env.DB, unguarded)).rejects.toThrow(/NOT NULL constraint failed: webhook_nonces.source/);
    // While the terms hold, the batch commits as ever.
    expect(await walletApply(env, guarded(true))).toMatchObject({ ok: true, replayed: false, balance: 900 });
    expect(await env.DB.prepare("SELECT source FROM webhook_nonces WHERE nonce = ?").bind(marker).first()).toEqual({ source: "test" });
  });

  it("a debit of a wallet that was never created is refused for funds (balance 0) and writes nothing; a credit creates the wallet", async () => {
    const user = await createUser();
    await env.DB.prepare("DELETE FROM wallets WHERE user_id = ?").bind(user.id).run();
    const marker = unique("nowallet");
    const debit = await walletApply(env, {
      userId: user.id,
      amount: -100,
      kind: "debit",
      idempotencyKey: unique("k"),
      transaction: { type: "ACTIVATION" },
      statements: [{ sql: "INSERT INTO webhook_nonces (nonce, source, created_at) VALUES (?, 'test', 'now')", params: [marker] }],
    });
    expect(debit).toEqual({ ok: false, reason: "INSUFFICIENT_FUNDS", balance: 0 });
    // Straight to D1 too (no wallet object): the same refusal, read in place.
    expect(await applyToD1(env.DB, { userId: user.id, amount: -100, kind: "debit", idempotencyKey: unique("k") })).toEqual({ ok: false, reason: "INSUFFICIENT_FUNDS", balance: 0 });
    expect(await env.DB.prepare("SELECT nonce FROM webhook_nonces WHERE nonce = ?").bind(marker).first()).toBeNull();
    expect(await env.DB.prepare("SELECT COUNT(*) AS n FROM transactions WHERE user_id = ?").bind(user.id).first()).toEqual({ n: 0 });
    expect(await env.DB.prepare("SELECT COUNT(*) AS n FROM wallets WHERE user_id = ?").bind(user.id).first()).toEqual({ n: 0 });

    const credit = await walletApply(env, { userId: user.id, amount: 400, kind: "credit", idempotencyKey: unique("c") });
    expect(credit).toMatchObject({ ok: true, balance: 400 });
    const again = await walletApply(env, { userId: user.id, amount: 250, kind: "credit", idempotencyKey: unique("c") });
    expect(again).toMatchObject({ ok: true, balance: 650 });
    expect(await walletState(user.id)).toEqual({ balance: 650, ledger_sum: 650, debits: 0 });
  });

  it("a debit that empties the wallet exactly is accepted; one unit more is refused with the balance it found", async () => {
    const user = await createUser({ balance: 300 });
    expect(await walletApply(env, { userId: user.id, amount: -301, kind: "debit", idempotencyKey: unique("k") })).toEqual({ ok: false, reason: "INSUFFICIENT_FUNDS", balance: 300 });
    expect(await walletApply(env, { userId: user.id, amount: -300, kind: "debit", idempotencyKey: unique("k") })).toMatchObject({ ok: true, balance: 0 });
    expect(await walletState(user.id)).toEqual({ balance: 0, ledger_sum: 0, debits: 1 });
  });

  it("after a refusal, money credited past the wallet object (straight to D1) still pays the next debit", async () => {
    const user = await createUser({ balance: 100 });
    expect(await walletApply(env, { userId: user.id, amount: -300, kind: "debit", idempotencyKey: unique("k") })).toEqual({ ok: false, reason: "INSUFFICIENT_FUNDS", balance: 100 });
    expect(await walletApply(env, { userId: user.id, amount: -200, kind: "debit", idempotencyKey: unique("k") })).toEqual({ ok: false, reason: "INSUFFICIENT_FUNDS", balance: 100 });
    await env.DB.batch([
      env.DB.prepare("UPDATE wallets SET balance = balance + 500 WHERE user_id = ?").bind(user.id),
      env.DB.prepare("INSERT INTO ledger_entries (user_id, amount, balance_after, kind, idempotency_key, note, created_at) VALUES (?, 500, 600, 'credit', ?, 'outside', 'now')").bind(user.id, unique("outside")),
    ]);
    expect(await walletApply(env, { userId: user.id, amount: -300, kind: "debit", idempotencyKey: unique("k") })).toMatchObject({ ok: true, balance: 300 });
    expect(await walletApply(env, { userId: user.id, amount: -400, kind: "debit", idempotencyKey: unique("k") })).toEqual({ ok: false, reason: "INSUFFICIENT_FUNDS", balance: 300 });
    expect(await walletState(user.id)).toEqual({ balance: 300, ledger_sum: 300, debits: 1 });
  });

  it("the same idempotency key applied twice (even concurrently) changes the balance once and replays", async () => {
    const user = await createUser({ balance: 1000 });
    const key = unique("once");
    const results = await Promise.all(
      Array.from({ length: 5 }, () => walletApply(env, { userId: user.id, amount: -200, kind: "debit", idempotencyKey: key, transaction: { type: "ACTIVATION" } })),
    );
    expect(results.every((r) => r.ok)).toBe(true);
    const oks = results.filter((r): r is Extract<typeof r, { ok: true }> => r.ok);
    expect(oks.filter((r) => !r.replayed)).toHaveLength(1);
    expect(new Set(oks.map((r) => r.transactionId)).size).toBe(1);
    expect(new Set(oks.map((r) => r.entryId)).size).toBe(1);
    expect(await walletState(user.id)).toEqual({ balance: 800, ledger_sum: 800, debits: 1 });
  });

  it("a debit repeated with its key after it emptied the wallet replays (a partner's retry), even once the object has seen a refusal", async () => {
    const user = await createUser({ balance: 1000 });
    const key = unique("all-of-it");
    const debit = { userId: user.id, amount: -1000, kind: "debit" as const, idempotencyKey: key, transaction: { type: "ACTIVATION" } };
    const first = await walletApply(env, debit);
    expect(first).toMatchObject({ ok: true, replayed: false, balance: 0 });
    const again = await walletApply(env, debit);
    expect(again).toMatchObject({ ok: true, replayed: true, transactionId: (first as { transactionId: string }).transactionId });
    // The object now knows the wallet cannot pay 1000; a retry must still replay, not be refused.
    expect(await walletApply(env, { ...debit, idempotencyKey: unique("other") })).toMatchObject({ ok: false, reason: "INSUFFICIENT_FUNDS", balance: 0 });
    expect(await walletApply(env, debit)).toMatchObject({ ok: true, replayed: true });
    expect(await walletState(user.id)).toEqual({ balance: 0, ledger_sum: 0, debits: 1 });
  });

  it("the ledger is append-only: UPDATE and DELETE are refused by triggers", async () => {
    const user = await createUser({ balance: 500 });
    await expect(env.DB.prepare("UPDATE ledger_entries SET amount = 1 WHERE user_id = ?").bind(user.id).run()).rejects.toThrow(/ledger_append_only/);
    await expect(env.DB.prepare("DELETE FROM ledger_entries WHERE user_id = ?").bind(user.id).run()).rejects.toThrow(/ledger_append_only/);
    expect(await walletState(user.id)).toEqual({ balance: 500, ledger_sum: 500, debits: 0 });
  });

  it("credits and refunds keep balance = sum of the ledger; balance_after records the running balance", async () => {
    const user = await createUser();
    const credit = await walletApply(env, { userId: user.id, amount: 700, kind: "credit", idempotencyKey: unique("c") });
    const debit = await walletApply(env, { userId: user.id, amount: -200, kind: "debit", idempotencyKey: unique("d") });
    expect(credit).toMatchObject({ ok: true, balance: 700 });
    expect(debit).toMatchObject({ ok: true, balance: 500 });
    const entries = await env.DB.prepare("SELECT amount, balance_after FROM ledger_entries WHERE user_id = ? ORDER BY id").bind(user.id).all();
    expect(entries.results).toEqual([
      { amount: 700, balance_after: 700 },
      { amount: -200, balance_after: 500 },
    ]);
    expect(await walletState(user.id)).toEqual({ balance: 500, ledger_sum: 500, debits: 1 });
  });

  it("an amount of 0 moves no money but still commits (or refuses) the statements as one batch", async () => {
    const user = await createUser({ balance: 300 });
    const marker = unique("free");
    const free = await walletApply(env, {
      userId: user.id,
      amount: 0,
      kind: "debit",
      idempotencyKey: unique("k"),
      statements: [{ sql: "INSERT INTO webhook_nonces (nonce, source, created_at) VALUES (?, 'test', 'now') RETURNING nonce", params: [marker] }],
    });
    expect(free).toMatchObject({ ok: true, balance: 300, entryId: null, transactionId: null, results: [[{ nonce: marker }]] });
    expect(await walletState(user.id)).toEqual({ balance: 300, ledger_sum: 300, debits: 0 });
    const clash = await walletApply(env, {
      userId: user.id,
      amount: 0,
      kind: "debit",
      idempotencyKey: unique("k"),
      statements: [{ sql: "INSERT INTO webhook_nonces (nonce, source, created_at) VALUES (?, 'test', 'now')", params: [marker] }],
    });
    expect(clash).toEqual({ ok: false, reason: "CONSTRAINT", constraint: "unique" });
  });
});
