import type { Env } from "../../env";
import { advanceSession } from "../../db/request-db";
import { ApiError, ErrorCode } from "../../lib/errors";
import { formatAmount } from "../../lib/money";
import { claimCommitted, IdempotencyConflict, pendingClaim } from "../../middleware/idempotency";
import { balanceOf, type ClaimTaken, type WalletOperation, type WalletResult } from "./wallet.ledger";

export type { SqlStatement, WalletOperation, WalletResult } from "./wallet.ledger";
export type { StoredAnswer } from "../../lib/claim-in-batch";
export { pointsAfter } from "./wallet.ledger";

/**
 * Every debit, credit and refund goes through the wallet's Durable Object. Behind
 * `idempotencyInBatch`, the request's Idempotency-Key claim (and `op.answer`) ride in the
 * same batch; a key another request holds throws IdempotencyConflict, with nothing written.
 */
export async function walletApply(env: Pick<Env, "WALLET" | "DB">, op: WalletOperation): Promise<WalletResult> {
  const wallet = env.WALLET.get(env.WALLET.idFromName(`wallet:${op.userId}`));
  const claim = pendingClaim(env);
  const sent: WalletOperation = claim ? { ...op, claim } : { ...op, answer: undefined };
  const { bookmark, ...result } = (await wallet.apply(sent)) as (WalletResult | ClaimTaken) & { bookmark?: string | null };
  // Reads after this write (a replay's lookup, the response's bookmark) must see it.
  advanceSession(env.DB, bookmark);
  if (!result.ok && result.reason === "IDEMPOTENCY_KEY_CLAIMED") throw new IdempotencyConflict(result.prior);
  if (claim && result.ok && !result.replayed) claimCommitted(env, op.answer !== undefined);
  return result as WalletResult;
}

export const getBalance = (env: Pick<Env, "DB">, userId: number) => balanceOf(env.DB, userId);

export type WalletRefusal = Exclude<WalletResult, { ok: true }>;

/**
 * What a feature throws when the wallet refused its operation: the 400 for lack of funds, the
 * feature's own answer for a constraint it expects (`expected`), and otherwise an internal error,
 * because a constraint nobody expected is a bug to log, not a message for the client.
 */
export function walletRefused(refusal: WalletRefusal, needed: number, what: string, expected: Record<string, () => Error> = {}): never {
  if (refusal.reason === "INSUFFICIENT_FUNDS") throw insufficientBalance(refusal.balance, needed);
  const answer = expected[refusal.constraint];
  if (answer) throw answer();
  throw new Error(`${what} refused by constraint ${refusal.constraint}`);
}

/** The 400 every feature answers when a debit is refused for lack of funds. */
export function insufficientBalance(balance: number, needed: number) {
  return new ApiError(400, ErrorCode.INSUFFICIENT_BALANCE, "Insufficient balance", {
    balance: formatAmount(balance),
    required: formatAmount(needed),
  });
}
