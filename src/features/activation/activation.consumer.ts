import type { Env } from "../../env";
import { backoffSeconds } from "../../queues/consumers";
import type { ActivationMessage } from "../../queues/messages";
import { completeActivation, loadActivation, receiveActivation } from "./activation.service";
import { activateWithPartner } from "../partner/partner.client";
import { handleCancelMessage } from "./partner-cancel";

export const DEAD_LETTER_REASON = "The partner did not answer after several attempts.";

/**
 * At-least-once delivery: a transaction that is no longer PENDING is acknowledged untouched.
 * A refusal fails and refunds; a timeout or 5xx retries with exponential backoff; the queue moves
 * a message out of retries to the dead-letter queue (`failExhaustedActivation`).
 */
export async function handleActivationMessage(message: Message<ActivationMessage>, env: Env): Promise<void> {
  if (message.body.type === "activation.cancel") return handleCancelMessage(message, env);
  const tx = await receiveActivation(env.DB, message.body.transaction_id);
  if (!tx || tx.status !== "PENDING") {
    message.ack();
    return;
  }

  const outcome = await activateWithPartner(env, tx);
  switch (outcome.kind) {
    case "success":
      await completeActivation(env, tx.id, { status: "SUCCESS" }, tx);
      message.ack();
      return;
    case "refused":
      await completeActivation(env, tx.id, { status: "FAILED", reason: outcome.reason }, tx);
      message.ack();
      return;
    case "accepted":
      message.ack();
      return;
    case "retry":
      console.warn(JSON.stringify({ level: "warn", msg: "partner activation retry", transaction_id: tx.id, attempts: message.attempts, reason: outcome.reason }));
      message.retry({ delaySeconds: backoffSeconds(message.attempts) });
      return;
  }
}

/**
 * Dead-letter queue: the partner never answered within the retries; fail and refund, once, and
 * tell the partner to cancel (it may have provisioned it without answering). A cancel message
 * out of retries stays requested on the transaction: the sweep sends it again.
 */
export async function failExhaustedActivation(message: Message<ActivationMessage>, env: Env): Promise<void> {
  if (message.body.type === "activation.cancel") {
    console.warn(JSON.stringify({ level: "warn", msg: "partner cancel out of retries; the sweep re-sends it", transaction_id: message.body.transaction_id }));
    return message.ack();
  }
  const tx = await loadActivation(env.DB, message.body.transaction_id);
  if (tx?.status === "PENDING") await completeActivation(env, tx.id, { status: "FAILED", reason: DEAD_LETTER_REASON, cancelAtPartner: true }, tx);
  message.ack();
}
