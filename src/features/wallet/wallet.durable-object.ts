import { DurableObject } from "cloudflare:workers";
import type { Env } from "../../env";
import { balanceOf, planBatch, runPlanned, type ClaimTaken, type WalletOperation, type WalletResult } from "./wallet.ledger";

/**
 * One instance per wallet (named by user id). A Durable Object does not hold other calls out
 * while it awaits D1, so it keeps its own promise chain: operations on one wallet run strictly
 * one after another, in arrival order. The D1 CHECK constraint still guards the balance if two
 * instances ever ran at once (e.g. during a deploy).
 *
 * Only the batch runs inside the chain: the statements are prepared before the operation takes
 * its place, and a refusal's balance is read after it has left, so each operation holds the
 * wallet for one D1 round trip and nothing else.
 */
export class WalletDurableObject extends DurableObject<Env> {
  private tail: Promise<unknown> = Promise.resolve();

  /** The result, and the D1 bookmark after it (walletApply hands that to the caller's session). */
  async apply(op: WalletOperation): Promise<(WalletResult | ClaimTaken) & { bookmark: string | null }> {
    // A session on the primary: its bookmark lets the caller's later reads see this write.
    const session = this.env.DB.withSession("first-primary") as unknown as D1Database;
    const plan = planBatch(session, op);
    const run = this.tail.then(() => runPlanned(session, op, plan, { deferRefusedBalance: true }));
    this.tail = run.catch(() => undefined);
    const result = await run;
    if (!result.ok && result.reason === "INSUFFICIENT_FUNDS" && Number.isNaN(result.balance)) result.balance = await balanceOf(session, op.userId);
    return { ...result, bookmark: (session as unknown as D1DatabaseSession).getBookmark() };
  }
}
