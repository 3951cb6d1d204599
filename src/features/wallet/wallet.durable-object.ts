import { DurableObject } from "cloudflare:workers";
import type { Env } from "../../env";
import { balanceUnlessApplied, planBatch, refusedForFunds, refusedOrReplayed, runPlanned, type ClaimTaken, type WalletOperation, type WalletResult } from "./wallet.ledger";

/**
 * One instance per wallet (named by user id). A Durable Object does not hold other calls out
 * while it awaits D1, so it keeps its own promise chain: operations on one wallet run strictly
 * one after another, in arrival order. The D1 CHECK constraint still guards the balance if two
 * instances ever ran at once (e.g. during a deploy).
 *
 * Only D1 runs inside the chain: the statements are prepared before the operation takes its
 * place, and the balance a refusal reports is read after it has left when it is not known yet.
 */
export class WalletDurableObject extends DurableObject<Env> {
  private tail: Promise<unknown> = Promise.resolve();
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
    const run = this.tail.then(() => this.run(session, op, plan));
    this.tail = run.catch(() => undefined);
    const result = await run;
    const settled = !result.ok && result.reason === "INSUFFICIENT_FUNDS" && Number.isNaN(result.balance) ? await refusedForFunds(session, op) : result;
    return { ...settled, bookmark: (session as unknown as D1DatabaseSession).getBookmark() };
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
