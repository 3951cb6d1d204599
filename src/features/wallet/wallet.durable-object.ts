import { DurableObject } from "cloudflare:workers";
import type { Env } from "../../env";
import { balanceUnlessApplied, planBatch, refusedForFunds, refusedOrReplayed, runPlanned, type ClaimTaken, type WalletOperation, type WalletResult } from "./wallet.ledger";

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
 * was made).
 *
 * Only D1 runs while a call holds the turn: the statements are prepared before it waits for it,
 * and the balance a refusal reports is read after it has passed the turn on when it is not known yet.
 */
export class WalletDurableObject extends DurableObject<Env> {
  /** Whether an operation holds the turn, and the resolvers of the calls waiting for it, in order. */
  private busy = false;
  private readonly waiting: (() => void)[] = [];
  /**
   * At most what the wallet holds, as far as this instance has seen (the balance after its last
   * operation, or less than a debit D1 just refused); null when it has not seen any. Only a hint:
   * a debit it says cannot be paid reads the balance and whether that debit was applied before (one
   * small read instead of a batch that would fail), and D1 decides everything else. A credit
   * written past this instance only makes that read find the money and run the batch after all.
   */
  private atMost: number | null = null;

  /** The result, and the D1 bookmark after it (walletApply hands that to the caller's session). */
  async apply(op: WalletOperation): Promise<(WalletResult | ClaimTaken) & { bookmark: string | null }> {
    // A session on the primary: its bookmark lets the caller's later reads see this write.
    const session = this.env.DB.withSession("first-primary") as unknown as D1Database;
    const plan = planBatch(session, op);
    await this.turn();
    let result: WalletResult | ClaimTaken;
    try {
      result = await this.run(session, op, plan);
    } finally {
      this.passTurn();
    }
    const settled = !result.ok && result.reason === "INSUFFICIENT_FUNDS" && Number.isNaN(result.balance) ? await refusedForFunds(session, op) : result;
    return { ...settled, bookmark: (session as unknown as D1DatabaseSession).getBookmark() };
  }

  /** Resolves when this call may run: at once if no operation holds the turn, else when the one before it passes it on. */
  private turn(): Promise<void> {
    if (!this.busy) {
      this.busy = true;
      return Promise.resolve();
    }
    // Created by this call, so its continuation belongs to this call's request (see above).
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  /** Hands the turn to the next waiting call, or frees it. */
  private passTurn() {
    const next = this.waiting.shift();
    if (next) next();
    else this.busy = false;
  }

  private async run(session: D1Database, op: WalletOperation, plan: ReturnType<typeof planBatch>): Promise<WalletResult | ClaimTaken> {
    const debit = -op.amount;
    if (debit > 0 && this.atMost !== null && this.atMost < debit) {
      // A repeat of an applied debit is a replay, not a refusal, whatever the balance now.
      const found = await balanceUnlessApplied(session, op.userId, op.idempotencyKey);
      this.atMost = found.balance;
      if (found.balance < debit) return refusedOrReplayed(session, op, found);
    }
    const result = await runPlanned(session, op, plan, { deferRefusedBalance: true });
    if (result.ok) this.atMost = result.replayed ? null : result.balance;
    else if (result.reason === "INSUFFICIENT_FUNDS") this.atMost = Math.min(this.atMost ?? debit - 1, debit - 1);
    return result;
  }
}
