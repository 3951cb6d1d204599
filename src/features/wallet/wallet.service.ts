import type { Env } from "../../env";
import { ApiError, ErrorCode } from "../../lib/errors";
import { formatAmount } from "../../lib/money";
import { balanceOf, type WalletOperation, type WalletResult } from "./wallet.ledger";

export type { SqlStatement, WalletOperation, WalletResult } from "./wallet.ledger";

/** Every debit, credit and refund goes through the wallet's Durable Object. */
export async function walletApply(env: Pick<Env, "WALLET">, op: WalletOperation): Promise<WalletResult> {
  const wallet = env.WALLET.get(env.WALLET.idFromName(`wallet:${op.userId}`));
  return (await wallet.apply(op)) as WalletResult;
}

export const getBalance = (env: Pick<Env, "DB">, userId: number) => balanceOf(env.DB, userId);

/** The 400 every feature answers when a debit is refused for lack of funds. */
export function insufficientBalance(balance: number, needed: number) {
  return new ApiError(400, ErrorCode.INSUFFICIENT_BALANCE, "Insufficient balance", {
    balance: formatAmount(balance),
    required: formatAmount(needed),
  });
}
