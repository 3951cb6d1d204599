import type { Env } from "../../env";
import { backoffSeconds, firstCopies, throwFirstFailure } from "../../queues/consumers";
import type { ActivationMessage } from "../../queues/messages";
import { type ActivationRow, completeActivation, completeSuccesses, loadActivation, receiveActivations } from "./activation.service";
import { activateWithPartner } from "../partner/partner.client";
import { handleCancelMessage } from "./partner-cancel";

export const DEAD_LETTER_REASON = "The partner did not answer after several attempts.";

type Delivery = Message<ActivationMessage>;
type Received = { message: Delivery; tx: ActivationRow };

/**
 * Works a batch of activation messages. At-least-once delivery: a transaction that is no longer
 * PENDING is acknowledged untouched. One D1 read for all the requested transactions (deleting
 * their outbox rows), each one's partner step side by side, then the successes completed
 * together (`completeSuccesses`). A refusal fails and refunds; a timeout or 5xx retries with
 * exponential backoff; the queue moves a message out of retries to the dead-letter queue
 * (`failExhaustedActivation`). Cancel messages are handled one by one. A second copy of a
 * message in the same batch is acked with it: its twin carries the activation. A step that
 * throws leaves its message unsettled: the dispatcher retries it with backoff, once every other
 * step has ended.
 */
async function handleActivations(messages: Delivery[], env: Env): Promise<void> {
  const cancels = messages.filter((message) => message.body.type === "activation.cancel");
  const { owners, copies } = firstCopies(
    messages.filter((message) => message.body.type !== "activation.cancel"),
    (message) => message.body.transaction_id,
  );
  throwFirstFailure(await Promise.allSettled([eachInOrder(cancels, (message) => handleCancelMessage(message, env)), activate(owners, env)]));
  for (const copy of copies) copy.ack();
}

async function activate(owners: Map<string, Delivery>, env: Env): Promise<void> {
  if (owners.size === 0) return;
  const rows = await receiveActivations(env.DB, [...owners.keys()]);
  const pending: Received[] = [];
  for (const [id, message] of owners) {
    const tx = rows.get(id);
    if (tx?.status === "PENDING") pending.push({ message, tx });
    else message.ack();
  }

  const answers = await Promise.allSettled(pending.map(({ tx }) => activateWithPartner(env, tx)));
  const successes: Received[] = [];
  const refusals: (Received & { reason: string })[] = [];
  for (const [i, answer] of answers.entries()) {
    const { message, tx } = pending[i]!;
    if (answer.status === "rejected") continue;
    const outcome = answer.value;
    switch (outcome.kind) {
      case "success":
        successes.push(pending[i]!);
        break;
      case "refused":
        refusals.push({ ...pending[i]!, reason: outcome.reason });
        break;
      case "accepted":
        message.ack();
        break;
      case "retry":
        console.warn(JSON.stringify({ level: "warn", msg: "partner activation retry", transaction_id: tx.id, attempts: message.attempts, reason: outcome.reason }));
        message.retry({ delaySeconds: backoffSeconds(message.attempts) });
        break;
    }
  }
  const refused = eachInOrder(refusals, async ({ message, tx, reason }) => {
    await completeActivation(env, tx.id, { status: "FAILED", reason }, tx);
    message.ack();
  });
  throwFirstFailure([...answers, ...(await Promise.allSettled([completeSucceeded(successes, env), refused]))]);
}

/** One batch for all the successes; if it throws, each is completed on its own, so each gets its own outcome or retry. */
async function completeSucceeded(successes: Received[], env: Env): Promise<void> {
  if (successes.length === 0) return;
  try {
    await completeSuccesses(env, successes.map(({ tx }) => tx));
    for (const { message } of successes) message.ack();
    return;
  } catch (error) {
    // Every completion is guarded (WHERE status = 'PENDING'), so doing one again changes nothing.
    console.warn(JSON.stringify({ level: "warn", msg: "activation successes not completed together; completing one by one", count: successes.length, error: String(error) }));
  }
  await eachInOrder(successes, async ({ message, tx }) => {
    await completeActivation(env, tx.id, { status: "SUCCESS" }, tx);
    message.ack();
  });
}

/** Each item's step, one after another as the messages came; one that throws does not stop the next (the first failure is thrown at the end). */
async function eachInOrder<T>(items: T[], step: (item: T) => Promise<void>): Promise<void> {
  const failures: PromiseSettledResult<void>[] = [];
  for (const item of items) {
    try {
      await step(item);
    } catch (error) {
      failures.push({ status: "rejected", reason: error });
    }
  }
  throwFirstFailure(failures);
}

/** The activations queue's consumer: a whole batch at a time (see handleActivations). */
export const activationDelivery = { batch: handleActivations };

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
