// Group commit: the wallet object runs the operations waiting for their turn in one D1 batch when
// the balance it knows pays for all of them, and one by one when that batch fails. Every test
// checks that grouping really happened (a batch carried several operations), so a wallet that
// never groups fails here too, and that every caller still got exactly its own answer.
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import { BOOKMARK_PATTERN } from "../../../src/db/request-db";
import { walletApply, type WalletOperation } from "../../../src/features/wallet/wallet.service";
import { api } from "../../helpers/api";
import { createUser, unique, walletState } from "../../helpers/factories";
import { insertMerchant, insertVoucher } from "../../helpers/voucher-factories";

/** A debit's batch without a transaction row or statements: the balance UPDATE and the ledger entry. */
const SINGLE_DEBIT = 2;

/**
 * Every D1 batch sent from this isolate (the wallet object runs here in tests) with its number of
 * statements and whether it failed, and the count of single reads. The first D1 call of either
 * kind is held a moment after D1 answered it (running `whileHeld` meanwhile), so the calls a test
 * makes at once are all waiting for their turn behind it, and the next call to get the turn finds
 * them there. `failOnce(test)` makes the first batch that `test` picks throw before it reaches D1
 * (a fault: the connection dropped), leaving nothing written; with `afterCommit`, it throws once D1
 * has committed it (the answer lost on the way back).
 */
function recordBatches(options: { whileHeld?: () => Promise<unknown> } = {}) {
  const batches: { statements: number; failed: boolean }[] = [];
  const reads = { count: 0 };
  let calls = 0;
  const held = async <T>(call: () => Promise<T>): Promise<T> => {
    if (calls++ > 0) return call();
    const answer = await call();
    await Promise.all([new Promise((resolve) => setTimeout(resolve, 100)), options.whileHeld?.()]);
    return answer;
  };
  let fault: ((statements: number) => boolean) | null = null;
  let afterCommit = false;
  const protos = [Object.getPrototypeOf(env.DB), Object.getPrototypeOf(env.DB.withSession("first-primary"))] as Record<string, Function>[];
  const originals = protos.map((proto) => proto.batch!);
  protos.forEach((proto, i) => {
    proto.batch = function (this: object, statements: unknown[]) {
      const entry = { statements: statements.length, failed: false };
      batches.push(entry);
      const faulty = fault?.(statements.length) ?? false;
      if (faulty) fault = null;
      return held(async () => {
        try {
          if (faulty && !afterCommit) throw new Error("D1_ERROR: Network connection lost.");
          const results = await originals[i]!.call(this, statements);
          if (faulty) throw new Error("D1_ERROR: Network connection lost.");
          return results;
        } catch (error) {
          entry.failed = true;
          throw error;
        }
      });
    };
  });
  const statementProto = Object.getPrototypeOf(env.DB.prepare("SELECT 1")) as Record<string, Function>;
  const first = statementProto.first!;
  statementProto.first = function (this: object, ...args: unknown[]) {
    reads.count++;
    return held(() => first.apply(this, args));
  };
  restore = () => {
    protos.forEach((proto, i) => (proto.batch = originals[i]!));
    statementProto.first = first;
  };
  return {
    batches,
    reads,
    failOnce: (test: (statements: number) => boolean, options: { afterCommit?: boolean } = {}) => {
      fault = test;
      afterCommit = options.afterCommit ?? false;
    },
    /** Batches that carried more than one operation of `size` statements. */
    groups: (size: number) => batches.filter((b) => b.statements > size),
  };
}
let restore = () => {};
afterEach(() => restore());

const debit = (userId: number, amount: number, key = unique("debit")): WalletOperation => ({ userId, amount: -amount, kind: "debit", idempotencyKey: key });

type Ok = Extract<Awaited<ReturnType<typeof walletApply>>, { ok: true }>;
const oks = (results: Awaited<ReturnType<typeof walletApply>>[]) => results.filter((r): r is Ok => r.ok);

/** Each ledger entry's running balance, by id: what every caller's answer must match. */
async function ledgerBalances(userId: number) {
  const rows = await env.DB.prepare("SELECT id, amount, balance_after FROM ledger_entries WHERE user_id = ? ORDER BY id").bind(userId).all<{ id: number; amount: number; balance_after: number }>();
  return new Map(rows.results.map((r) => [r.id, r]));
}

describe("wallet group commit", () => {
  it("60 concurrent debits a wallet can pay 40 of: exactly 40 succeed, in groups, each with its own entry and the balance right after it", async () => {
    const user = await createUser({ balance: 4000 });
    const recorded = recordBatches();
    const results = await Promise.all(Array.from({ length: 60 }, () => walletApply(env, debit(user.id, 100))));

    const paid = oks(results);
    expect(paid).toHaveLength(40);
    expect(results.filter((r) => !r.ok && r.reason === "INSUFFICIENT_FUNDS")).toHaveLength(20);
    for (const r of results) if (!r.ok) expect(r).toEqual({ ok: false, reason: "INSUFFICIENT_FUNDS", balance: 0 });
    // Every balance from 3900 down to 0 answered exactly once, each equal to its own ledger entry's.
    expect(paid.map((r) => r.balance).sort((a, b) => b - a)).toEqual(Array.from({ length: 40 }, (_, i) => 3900 - i * 100));
    const ledger = await ledgerBalances(user.id);
    for (const r of paid) expect(ledger.get(r.entryId!)).toMatchObject({ amount: -100, balance_after: r.balance });
    expect(new Set(paid.map((r) => r.entryId)).size).toBe(40);
    expect(await walletState(user.id)).toEqual({ balance: 0, ledger_sum: 0, debits: 40 });
    // Grouped: far fewer successful batches than successes.
    expect(recorded.groups(SINGLE_DEBIT).filter((b) => !b.failed).length).toBeGreaterThan(0);
    expect(recorded.batches.filter((b) => !b.failed).length).toBeLessThan(40);
  });

  it("every caller, whether its operation ran in a group or alone, paid or refused, gets the bookmark of the batch or read that decided it", async () => {
    const user = await createUser({ balance: 2000 });
    const wallet = env.WALLET.get(env.WALLET.idFromName(`wallet:${user.id}`));
    const recorded = recordBatches();
    const answers = await Promise.all(Array.from({ length: 30 }, () => wallet.apply(debit(user.id, 100))));
    expect(answers.filter((a) => a.ok)).toHaveLength(20);
    for (const a of answers) expect(a.bookmark).toMatch(new RegExp(BOOKMARK_PATTERN));
    expect(recorded.groups(SINGLE_DEBIT).filter((b) => !b.failed).length).toBeGreaterThan(0);
    expect(await walletState(user.id)).toEqual({ balance: 0, ledger_sum: 0, debits: 20 });
  });

  it("the same key several times in one burst (in one group or across groups) applies once; every repeat replays that first result", async () => {
    const user = await createUser({ balance: 10_000 });
    const recorded = recordBatches();
    const keys = Array.from({ length: 10 }, () => unique("once"));
    // Each key four times, interleaved, so repeats land in the same group and in later ones.
    const ops = [0, 1, 2, 3].flatMap(() => keys.map((key) => ({ ...debit(user.id, 100, key), transaction: { type: "ACTIVATION" } })));
    const results = await Promise.all(ops.map((op) => walletApply(env, op)));

    expect(results.every((r) => r.ok)).toBe(true);
    const paid = oks(results);
    for (const key of keys) {
      const mine = paid.filter((_, i) => ops[i]!.idempotencyKey === key);
      expect(mine.filter((r) => !r.replayed)).toHaveLength(1);
      expect(new Set(mine.map((r) => r.entryId)).size).toBe(1);
      expect(new Set(mine.map((r) => r.transactionId)).size).toBe(1);
    }
    expect(await walletState(user.id)).toEqual({ balance: 9000, ledger_sum: 9000, debits: 10 });
    expect(recorded.groups(SINGLE_DEBIT + 1).length).toBeGreaterThan(0);
  });

  it("an operation whose guard fails inside a group is refused by name; every other caller of that group still gets its success", async () => {
    const user = await createUser({ balance: 100_000 });
    const recorded = recordBatches();
    const marker = unique("guarded");
    // The fifth and the twelfth are priced on terms that no longer hold: their guarded NOT NULL column comes out NULL.
    const ops = Array.from({ length: 20 }, (_, i): WalletOperation => ({
      ...debit(user.id, 100),
      statements: [{ sql: "INSERT INTO webhook_nonces (nonce, source, created_at) VALUES (?, (SELECT 'test' WHERE ?), 'now')", params: [`${marker}-${i}`, i === 5 || i === 12 ? 0 : 1] }],
      guard: { column: "webhook_nonces.source", name: "test_terms_changed" },
    }));
    const results = await Promise.all(ops.map((op) => walletApply(env, op)));

    results.forEach((r, i) => {
      if (i === 5 || i === 12) expect(r).toEqual({ ok: false, reason: "CONSTRAINT", constraint: "test_terms_changed" });
      else expect(r).toMatchObject({ ok: true, replayed: false });
    });
    const paid = oks(results);
    expect(paid.map((r) => r.balance).sort((a, b) => b - a)).toEqual(Array.from({ length: 18 }, (_, i) => 99_900 - i * 100));
    const ledger = await ledgerBalances(user.id);
    for (const r of paid) expect(ledger.get(r.entryId!)!.balance_after).toBe(r.balance);
    const written = await env.DB.prepare("SELECT COUNT(*) AS n FROM webhook_nonces WHERE nonce LIKE ?").bind(`${marker}-%`).first<{ n: number }>();
    expect(written!.n).toBe(18);
    expect(await walletState(user.id)).toEqual({ balance: 98_200, ledger_sum: 98_200, debits: 18 });
    // A group with a poisoned operation was tried, failed, and its operations then ran one by one.
    expect(recorded.groups(SINGLE_DEBIT + 1).some((b) => b.failed)).toBe(true);
  });

  it("a fault in the group's batch (nothing written) falls back to one batch each: every caller paid once, with its own balance", async () => {
    const user = await createUser({ balance: 5000 });
    const recorded = recordBatches();
    recorded.failOnce((statements) => statements > SINGLE_DEBIT);
    const results = await Promise.all(Array.from({ length: 30 }, () => walletApply(env, debit(user.id, 100))));

    expect(recorded.batches.some((b) => b.failed && b.statements > SINGLE_DEBIT)).toBe(true);
    const paid = oks(results);
    expect(paid).toHaveLength(30);
    expect(paid.every((r) => !r.replayed)).toBe(true);
    expect(paid.map((r) => r.balance).sort((a, b) => b - a)).toEqual(Array.from({ length: 30 }, (_, i) => 4900 - i * 100));
    const ledger = await ledgerBalances(user.id);
    for (const r of paid) expect(ledger.get(r.entryId!)!.balance_after).toBe(r.balance);
    expect(await walletState(user.id)).toEqual({ balance: 2000, ledger_sum: 2000, debits: 30 });
  });

  it("a group's batch that committed but whose answer was lost: each operation finds its own entry by its key and replays it; nothing is applied twice", async () => {
    const user = await createUser({ balance: 5000 });
    const recorded = recordBatches();
    recorded.failOnce((statements) => statements > SINGLE_DEBIT + 1, { afterCommit: true });
    const ops = Array.from({ length: 30 }, () => ({ ...debit(user.id, 100), transaction: { type: "ACTIVATION" } }));
    const results = await Promise.all(ops.map((op) => walletApply(env, op)));

    expect(recorded.batches.some((b) => b.failed && b.statements > SINGLE_DEBIT + 1)).toBe(true);
    const paid = oks(results);
    expect(paid).toHaveLength(30);
    expect(paid.some((r) => r.replayed)).toBe(true);
    // Every operation's answer names its own ledger entry and transaction, and no two the same.
    const entries = await env.DB.prepare("SELECT id, transaction_id, idempotency_key FROM ledger_entries WHERE user_id = ? AND amount = -100").bind(user.id).all<{ id: number; transaction_id: string; idempotency_key: string }>();
    const byKey = new Map(entries.results.map((e) => [e.idempotency_key, e]));
    results.forEach((r, i) => expect(r).toMatchObject({ ok: true, entryId: byKey.get(ops[i]!.idempotencyKey)!.id, transactionId: byKey.get(ops[i]!.idempotencyKey)!.transaction_id }));
    expect(await walletState(user.id)).toEqual({ balance: 2000, ledger_sum: 2000, debits: 30 });
  });

  it("credits and debits in one burst: each debit is judged after the operations that arrived before it", async () => {
    const user = await createUser({ balance: 0 });
    const recorded = recordBatches();
    // A first credit teaches the object the balance; then credits of 300 and debits of 200 alternate.
    await walletApply(env, { userId: user.id, amount: 300, kind: "credit", idempotencyKey: unique("c") });
    const ops: WalletOperation[] = Array.from({ length: 30 }, (_, i) =>
      i % 2 === 0 ? { userId: user.id, amount: 300, kind: "credit", idempotencyKey: unique("c") } : debit(user.id, 200),
    );
    const results = await Promise.all(ops.map((op) => walletApply(env, op)));
    expect(results.every((r) => r.ok)).toBe(true);
    const ledger = await ledgerBalances(user.id);
    for (const r of oks(results)) expect(ledger.get(r.entryId!)!.balance_after).toBe(r.balance);
    expect(await walletState(user.id)).toEqual({ balance: 300 + 15 * 300 - 15 * 200, ledger_sum: 1800, debits: 15 });
    expect(recorded.groups(SINGLE_DEBIT).filter((b) => !b.failed).length).toBeGreaterThan(0);
  });
});

describe("refusals in groups", () => {
  it("30 concurrent debits a wallet known to be empty cannot pay: all refused with the balance, on far fewer reads than refusals", async () => {
    const user = await createUser({ balance: 1000 });
    expect(await walletApply(env, debit(user.id, 1000))).toMatchObject({ ok: true, balance: 0 });
    const recorded = recordBatches();
    const results = await Promise.all(Array.from({ length: 30 }, () => walletApply(env, debit(user.id, 100))));
    for (const r of results) expect(r).toEqual({ ok: false, reason: "INSUFFICIENT_FUNDS", balance: 0 });
    expect(recorded.reads.count).toBeLessThan(10);
    expect(await walletState(user.id)).toEqual({ balance: 0, ledger_sum: 0, debits: 1 });
  });

  it("the debit that emptied the wallet, repeated with its key among refused debits, replays; the others are refused", async () => {
    const user = await createUser({ balance: 1000 });
    const emptied = { ...debit(user.id, 1000), transaction: { type: "ACTIVATION" } };
    const first = await walletApply(env, emptied);
    expect(first).toMatchObject({ ok: true, replayed: false, balance: 0 });
    recordBatches();
    const ops = Array.from({ length: 20 }, (_, i) => (i % 5 === 2 ? emptied : { ...debit(user.id, 1000), transaction: { type: "ACTIVATION" } }));
    const results = await Promise.all(ops.map((op) => walletApply(env, op)));
    results.forEach((r, i) => {
      if (ops[i] === emptied) expect(r).toMatchObject({ ok: true, replayed: true, entryId: (first as Ok).entryId, transactionId: (first as Ok).transactionId });
      else expect(r).toEqual({ ok: false, reason: "INSUFFICIENT_FUNDS", balance: 0 });
    });
    expect(await walletState(user.id)).toEqual({ balance: 0, ledger_sum: 0, debits: 1 });
  });

  it("money credited past the wallet object pays the debits of a burst the object expected to refuse: exactly as many as it pays", async () => {
    const user = await createUser({ balance: 100 });
    // The object learns that the wallet cannot pay 200.
    expect(await walletApply(env, debit(user.id, 200))).toEqual({ ok: false, reason: "INSUFFICIENT_FUNDS", balance: 100 });
    // While the burst's first debit is refused on its read (100), the others queue behind it and
    // 500 arrive straight in D1: the object still expects every one of them to be refused.
    const recorded = recordBatches({
      whileHeld: () =>
        env.DB.batch([
          env.DB.prepare("UPDATE wallets SET balance = balance + 500 WHERE user_id = ?").bind(user.id),
          env.DB.prepare("INSERT INTO ledger_entries (user_id, amount, balance_after, kind, idempotency_key, note, created_at) VALUES (?, 500, 600, 'credit', ?, 'outside', 'now')").bind(user.id, unique("outside")),
        ]),
    });
    const [firstOfBurst, ...rest] = await Promise.all(Array.from({ length: 11 }, () => walletApply(env, debit(user.id, 200))));
    expect(firstOfBurst).toEqual({ ok: false, reason: "INSUFFICIENT_FUNDS", balance: 100 });
    const paid = oks(rest);
    expect(paid.map((r) => r.balance).sort((a, b) => b - a)).toEqual([400, 200, 0]);
    for (const r of rest) if (!r.ok) expect(r).toEqual({ ok: false, reason: "INSUFFICIENT_FUNDS", balance: 0 });
    expect(await walletState(user.id)).toEqual({ balance: 0, ledger_sum: 0, debits: 3 });
    expect(recorded.reads.count).toBeGreaterThan(1);
  });
});

describe("purchases in groups", () => {
  it("40 concurrent purchases with keys on a wallet that pays 25: 25 sold, each answered with its own row and balance, its key replaying exactly that answer", async () => {
    const voucher = await insertVoucher(await insertMerchant());
    const buyer = await createUser({ balance: 25 * 1000 + 500 });
    const recorded = recordBatches();
    const keys = Array.from({ length: 40 }, (_, i) => `group-${i}-${unique()}`);
    const buy = (key: string) => api("POST", "/api/v1/voucher-purchase/purchase/", { token: buyer.token, body: { voucher_id: voucher.id }, headers: { "Idempotency-Key": key } });
    const answers = await Promise.all(keys.map(buy));

    const sold = answers.filter((a) => a.status === 201);
    expect(sold).toHaveLength(25);
    for (const a of answers.filter((a) => a.status !== 201)) expect(a.body).toMatchObject({ code: "INSUFFICIENT_BALANCE", details: { balance: "5.00", required: "10.00" } });
    expect(sold.map((a) => a.body.remaining_balance).sort((a, b) => a - b)).toEqual(Array.from({ length: 25 }, (_, i) => 5 + i * 10));
    // Each answer is its own purchase row, its own transaction and the balance its ledger entry left.
    for (const a of sold) {
      const row = await env.DB.prepare(
        "SELECT r.purchase_reference, r.transaction_id, l.balance_after FROM voucher_redemptions r JOIN ledger_entries l ON l.transaction_id = r.transaction_id WHERE r.id = ? AND r.user_id = ?",
      )
        .bind(a.body.redemption_id, buyer.id)
        .first();
      expect(row).toEqual({ purchase_reference: a.body.purchase_reference, transaction_id: a.body.transaction_id, balance_after: a.body.remaining_balance * 100 });
    }
    expect(new Set(sold.map((a) => a.body.redemption_id)).size).toBe(25);
    // Every key again, after the burst (other groups): the first answer, word for word; nothing more sold.
    const again = await Promise.all(keys.map(buy));
    again.forEach((a, i) => {
      expect(a.status).toBe(answers[i]!.status);
      expect(a.body).toEqual(answers[i]!.body);
    });
    expect(await walletState(buyer.id)).toEqual({ balance: 500, ledger_sum: 500, debits: 25 });
    // A purchase's batch is 6 statements with a key; some batches carried several.
    expect(recorded.groups(6).filter((b) => !b.failed).length).toBeGreaterThan(0);
  });
});
