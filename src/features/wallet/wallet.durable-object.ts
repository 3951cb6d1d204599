import { DurableObject } from "cloudflare:workers";
import type { Env } from "../../env";
import { balanceUnlessApplied, planBatch, refusedForFunds, refusedOrReplayed, runPlanned, type ClaimTaken, type PlannedBatch, type WalletOperation, type WalletResult } from "./wallet.ledger";

type Outcome = WalletResult | ClaimTaken;
type Committed = Extract<WalletResult, { ok: true }>;

/**
 * How a waiting call gets the turn: `lead` (run, and take the calls waiting behind along in one
 * batch when the balance this instance knows pays for all of them), `alone` (a group this call
 * was in failed: run by itself, as if there had been no group), or `done` (a group committed
 * this call's operation: here is its result and the bookmark after it).
 */
type Handoff = { kind: "lead" } | { kind: "alone" } | { kind: "done"; result: Outcome; bookmark: string | null };

/** A call waiting for its turn: its operation, already planned, and the resolver of the promise it waits on. */
interface Waiting {
  op: WalletOperation;
  plan: PlannedBatch;
  alone: boolean;
  hand: (handoff: Handoff) => void;
}

/**
 * The most statements one group batch carries (a purchase with an Idempotency-Key is 6): well
 * inside D1's limit of 1,000 queries an invocation (Workers Paid) even if each statement counted.
 */
const MAX_GROUP_STATEMENTS = 100;

/**
 * One instance per wallet (named by user id). A Durable Object does not hold other calls out
 * while it awaits D1, so it keeps its own queue: operations on one wallet run strictly one after
 * another, in arrival order. The D1 CHECK constraint still guards the balance if two instances
 * ever ran at once (e.g. during a deploy).
 *
 * Each call waits for its turn on a promise it created itself, which the call before it resolves.
 * It must not chain onto the previous call's promise instead: the runtime cancels the
 * continuations of a promise settled after the request that created it has ended, and the
 * previous call ends as soon as it has answered. The next call's batch could then commit with no
 * one left to answer it (seen under load: "the Worker's code had hung", a 500 for a debit that
 * was made). A call whose own caller has gone away (the client hung up, the worker's request was
 * cancelled) is not cancelled in the object: it still runs in its turn and passes it on, so the
 * wallet's later operations never wait on a caller that is gone (its tests hang callers up while
 * they wait, while they hold the turn and while they ride in a group).
 *
 * Group commit: the call that gets the turn takes the calls waiting behind it along, in order, as
 * far as the balance this instance last saw pays for each of them, and runs all their statements
 * in one D1 batch (one transaction). Each operation's statements run after the previous one's,
 * so each reads what it would have read in a batch of its own (the balance after, the stored
 * answer's fills), and its result is read from its own positions in the batch. A single operation
 * that would be refused (funds, a guard, a constraint, a repeated key) makes the whole batch
 * fail, and then nothing of it was written: each operation of the group then runs by itself, in
 * the same order, exactly as without the group, so every caller gets its own exact answer.
 * The call that ran the group hands each of the others its result (and the bookmark after the
 * batch) through the promise that call is waiting on, so each answers from its own request. Debits
 * the balance last seen cannot pay are likewise refused together on one read (`refuseTogether`).
 *
 * Only D1 runs while a call holds the turn: the statements are prepared before it waits for it,
 * and the balance a refusal reports is read after it has passed the turn on when it is not known yet.
 */
export class WalletDurableObject extends DurableObject<Env> {
  /** Whether an operation holds the turn, and the calls waiting for it, in order. */
  private busy = false;
  private readonly waiting: Waiting[] = [];
  /**
   * At most what the wallet holds, as far as this instance has seen (the balance after its last
   * operation, or less than a debit D1 just refused); null when it has not seen any. Only a hint:
   * a debit it says cannot be paid reads the balance and whether that debit was applied before (one
   * small read instead of a batch that would fail), and D1 decides everything else. A credit
   * written past this instance only makes that read find the money and run the batch after all.
   * A group is formed only as far as it says the debits can be paid; if it says too much, the
   * group's batch fails and its operations run one by one.
   */
  private atMost: number | null = null;

  /** The result, and the D1 bookmark after it (walletApply hands that to the caller's session). */
  async apply(op: WalletOperation): Promise<Outcome & { bookmark: string | null }> {
    // A session on the primary: its bookmark lets the caller's later reads see this write.
    const session = this.env.DB.withSession("first-primary") as unknown as D1Database;
    const plan = planBatch(session, op);
    const handoff = await this.turn(op, plan);
    if (handoff.kind === "done") return { ...handoff.result, bookmark: handoff.bookmark };
    let result: Outcome;
    try {
      result = handoff.kind === "lead" ? await this.lead(session, op, plan) : await this.run(session, op, plan);
    } finally {
      this.passTurn();
    }
    const settled = !result.ok && result.reason === "INSUFFICIENT_FUNDS" && Number.isNaN(result.balance) ? await refusedForFunds(session, op) : result;
    return { ...settled, bookmark: bookmarkOf(session) };
  }

  /** Resolves when this call may run (at once if no operation holds the turn), or with its result when a group ran it. */
  private turn(op: WalletOperation, plan: PlannedBatch): Promise<Handoff> {
    if (!this.busy) {
      this.busy = true;
      return Promise.resolve({ kind: "lead" });
    }
    // Created by this call, so its continuation belongs to this call's request (see above).
    return new Promise((hand) => this.waiting.push({ op, plan, alone: false, hand }));
  }

  /** Hands the turn to the next waiting call, or frees it. */
  private passTurn() {
    const next = this.waiting.shift();
    if (next) next.hand({ kind: next.alone ? "alone" : "lead" });
    else this.busy = false;
  }

  /**
   * This call's operation, with as many of the waiting ones as can join it: debits and credits
   * the balance last seen pays for, in one batch; or, when it cannot pay this call's debit,
   * the debits waiting behind that it cannot pay either, refused together on one read.
   */
  private async lead(session: D1Database, op: WalletOperation, plan: PlannedBatch): Promise<Outcome> {
    if (this.atMost === null || this.waiting.length === 0) return this.run(session, op, plan);
    return -op.amount > this.atMost ? this.refuseTogether(session, op, plan) : this.commitTogether(session, op, plan);
  }

  /** The calls at the head of the queue, in order, while `joins` takes each (and may still join); taken off the queue. */
  private takeWhile(op: WalletOperation, joins: (w: Waiting) => boolean): Waiting[] {
    let n = 0;
    while (n < this.waiting.length) {
      const w = this.waiting[n]!;
      // A group that failed gives its calls back to run alone; only money moves are grouped (see commitTogether).
      if (w.alone || w.op.userId !== op.userId || w.op.amount === 0 || !joins(w)) break;
      n++;
    }
    return this.waiting.splice(0, n);
  }

  /** After a group failed: the followers run one by one, in their places at the head of the queue. */
  private giveBack(followers: Waiting[]) {
    for (const f of followers) f.alone = true;
    this.waiting.unshift(...followers);
  }

  /**
   * One batch for this operation and the waiting ones the balance last seen pays for, in order,
   * up to MAX_GROUP_STATEMENTS. Only operations that move money join: each has a ledger key, so
   * an operation that runs again after a group batch that did commit (its answer lost on the way)
   * is found by that key and replays.
   */
  private async commitTogether(session: D1Database, op: WalletOperation, plan: PlannedBatch): Promise<Outcome> {
    let balance = this.atMost! + op.amount;
    let statements = plan.statements.length;
    const followers =
      op.amount === 0
        ? []
        : this.takeWhile(op, (w) => {
            if (balance + w.op.amount < 0 || statements + w.plan.statements.length > MAX_GROUP_STATEMENTS) return false;
            balance += w.op.amount;
            statements += w.plan.statements.length;
            return true;
          });
    if (followers.length === 0) return this.run(session, op, plan);
    const group = [plan, ...followers.map((f) => f.plan)];
    let outcomes: Committed[];
    try {
      const results = await session.batch(group.flatMap((p) => p.statements));
      let at = 0;
      outcomes = group.map((p) => p.outcome(results.slice(at, (at += p.statements.length))));
    } catch {
      // A batch is one transaction: a failed one wrote nothing (and one that committed but whose
      // answer was lost is found by each operation's ledger key, which then replays). Each
      // operation now runs by itself, in the same order, as if there had been no group.
      this.giveBack(followers);
      return this.run(session, op, plan);
    }
    this.atMost = outcomes[outcomes.length - 1]!.balance;
    const bookmark = bookmarkOf(session);
    followers.forEach((f, i) => f.hand({ kind: "done", result: outcomes[i + 1]!, bookmark }));
    return outcomes[0]!;
  }

  /**
   * This debit, which the balance last seen cannot pay, and the debits waiting behind it that it
   * cannot pay either: one read of the balance and of whether any of their keys was applied
   * before. If none was and the balance pays none of them, all are refused with that balance, as
   * each would be by a read of its own; otherwise each runs by itself.
   */
  private async refuseTogether(session: D1Database, op: WalletOperation, plan: PlannedBatch): Promise<Outcome> {
    const followers = this.takeWhile(op, (w) => -w.op.amount > this.atMost!);
    if (followers.length === 0) return this.run(session, op, plan);
    const all = [op, ...followers.map((f) => f.op)];
    let found: { balance: number; applied: boolean };
    try {
      found = await balanceUnlessApplied(session, op.userId, all.map((o) => o.idempotencyKey));
    } catch (error) {
      // This call fails as its own read would have; the others try by themselves.
      this.giveBack(followers);
      throw error;
    }
    this.atMost = found.balance;
    if (found.applied || all.some((o) => -o.amount <= found.balance)) {
      this.giveBack(followers);
      return this.run(session, op, plan);
    }
    const bookmark = bookmarkOf(session);
    for (const f of followers) f.hand({ kind: "done", result: { ok: false, reason: "INSUFFICIENT_FUNDS", balance: found.balance }, bookmark });
    return { ok: false, reason: "INSUFFICIENT_FUNDS", balance: found.balance };
  }

  private async run(session: D1Database, op: WalletOperation, plan: PlannedBatch): Promise<Outcome> {
    const debit = -op.amount;
    if (debit > 0 && this.atMost !== null && this.atMost < debit) {
      // A repeat of an applied debit is a replay, not a refusal, whatever the balance now.
      const found = await balanceUnlessApplied(session, op.userId, [op.idempotencyKey]);
      this.atMost = found.balance;
      if (found.balance < debit) return refusedOrReplayed(session, op, found);
    }
    const result = await runPlanned(session, op, plan, { deferRefusedBalance: true });
    if (result.ok) this.atMost = result.replayed ? null : result.balance;
    else if (result.reason === "INSUFFICIENT_FUNDS") this.atMost = Math.min(this.atMost ?? debit - 1, debit - 1);
    return result;
  }
}

const bookmarkOf = (session: D1Database) => (session as unknown as D1DatabaseSession).getBookmark();
