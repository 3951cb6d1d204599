import { DurableObject } from "cloudflare:workers";
import type { Env } from "../../env";
import { applyToD1, type WalletOperation, type WalletResult } from "./wallet.ledger";

/**
 * One instance per wallet (named by user id). A Durable Object does not hold other calls out
 * while it awaits D1, so it keeps its own promise chain: operations on one wallet run strictly
 * one after another, in arrival order. The D1 CHECK constraint still guards the balance if two
 * instances ever ran at once (e.g. during a deploy).
 */
export class WalletDurableObject extends DurableObject<Env> {
  private tail: Promise<unknown> = Promise.resolve();

  apply(op: WalletOperation): Promise<WalletResult> {
    const run = this.tail.then(() => applyToD1(this.env.DB, op));
    this.tail = run.catch(() => undefined);
    return run;
  }
}
