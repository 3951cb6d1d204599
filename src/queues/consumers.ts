import type { Env } from "../env";
import { trackMessage, withMessageLog } from "../lib/log";
import { nowIso } from "../lib/time";
import { type MessageOf, QUEUES, type QueueName } from "./messages";

/** Handles one parsed message: acks it, retries it (with backoff) or throws (a retry with backoff). */
export type Consumer<Q extends QueueName> = (message: Message<MessageOf<Q>>, env: Env) => Promise<void>;

/**
 * Handles a batch's parsed messages together (so their D1 work can share round trips): it acks
 * or retries each one; a throw retries, with backoff, every message it had not settled.
 */
export type BatchConsumer<Q extends QueueName> = { batch: (messages: Message<MessageOf<Q>>[], env: Env) => Promise<void> };

/**
 * A batch's messages by the id they act on, first copy kept: queues deliver at least once, so one
 * batch may carry two copies of a message. The first carries the work; the others are `copies`,
 * acked once it is done.
 */
export function firstCopies<M>(messages: M[], idOf: (message: M) => string): { owners: Map<string, M>; copies: M[] } {
  const owners = new Map<string, M>();
  const copies: M[] = [];
  for (const message of messages) {
    const id = idOf(message);
    if (owners.has(id)) copies.push(message);
    else owners.set(id, message);
  }
  return { owners, copies };
}

/**
 * For a batch consumer's parts run side by side: throws the first failure once every part has
 * ended, so nothing settles a message after the dispatcher has retried the ones left unsettled.
 */
export function throwFirstFailure(results: PromiseSettledResult<unknown>[]) {
  for (const result of results) if (result.status === "rejected") throw result.reason;
}

/** One consumer for every queue, dead-letter queues included: a queue missing here fails `tsc`. */
export type QueueConsumers = { [Q in QueueName]: Consumer<Q> | BatchConsumer<Q> };

const isQueueName = (name: string): name is QueueName => Object.hasOwn(QUEUES, name);

/**
 * Routes a batch to its queue's consumer. A message that cannot be routed (a queue without a
 * consumer) or parsed is not acknowledged into nothing: it is logged and kept in `dead_letters`,
 * and acknowledged only once that row is written (if the write fails, it is retried).
 */
export async function dispatchQueueBatch(consumers: QueueConsumers, batch: MessageBatch<unknown>, env: Env): Promise<void> {
  const queue = batch.queue;
  const parsed: Message<MessageOf<QueueName>>[] = [];
  for (const message of batch.messages) {
    if (!isQueueName(queue)) {
      await deadLetter(env, queue, message, "no consumer for this queue");
      continue;
    }
    const result = QUEUES[queue].safeParse(message.body);
    if (!result.success) {
      await deadLetter(env, queue, message, `message does not parse: ${result.error.issues.map((i) => `${i.path.join(".") || "body"} ${i.message}`).join("; ")}`);
      continue;
    }
    parsed.push(message as Message<MessageOf<QueueName>>);
  }
  if (parsed.length === 0 || !isQueueName(queue)) return;
  const consumer = consumers[queue] as Consumer<QueueName> | BatchConsumer<QueueName>;
  if (typeof consumer !== "function") return consumeTogether(queue, consumer, parsed, env);
  for (const message of parsed) {
    try {
      await withMessageLog(queue, message, (tracked) => consumer(tracked, env));
    } catch (error) {
      retryFailed(queue, message, error);
    }
  }
}

/** A batch consumer's run: one log line per message, as for a consumer of one message at a time. */
async function consumeTogether(queue: QueueName, consumer: BatchConsumer<QueueName>, messages: Message<MessageOf<QueueName>>[], env: Env) {
  const tracked = messages.map((message) => trackMessage(queue, message));
  let failure: { error: unknown } | null = null;
  try {
    await consumer.batch(tracked.map((t) => t.message), env);
  } catch (error) {
    failure = { error };
  }
  for (const [i, t] of tracked.entries()) {
    const failed = failure !== null && !t.settled();
    t.log(failed);
    if (failed) retryFailed(queue, messages[i]!, failure!.error);
  }
}

function retryFailed(queue: string, message: Message<unknown>, error: unknown) {
  console.error(JSON.stringify({ level: "error", msg: "queue consumer failed", queue, id: message.id, attempts: message.attempts, error: String(error) }));
  message.retry({ delaySeconds: backoffSeconds(message.attempts) });
}

/** Where an unroutable or unparseable message ends: one row per message id, and an error log line. */
async function deadLetter(env: Env, queue: string, message: Message<unknown>, reason: string) {
  const body = safeJson(message.body).slice(0, 10_000);
  console.error(JSON.stringify({ level: "error", msg: "queue message dead-lettered", queue, id: message.id, attempts: message.attempts, reason }));
  try {
    await env.DB.prepare(
      "INSERT INTO dead_letters (queue, message_id, body, reason, attempts, created_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (queue, message_id) DO NOTHING",
    )
      .bind(queue, message.id, body, reason.slice(0, 1000), message.attempts, nowIso())
      .run();
    message.ack();
  } catch (error) {
    console.error(JSON.stringify({ level: "error", msg: "dead letter not recorded; retrying the message", queue, id: message.id, error: String(error) }));
    message.retry({ delaySeconds: backoffSeconds(message.attempts) });
  }
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/** Exponential backoff for retries: 2, 4, 8, 16 ... seconds, capped at 5 minutes. */
export function backoffSeconds(attempts: number): number {
  return Math.min(300, 2 ** Math.max(1, attempts));
}
