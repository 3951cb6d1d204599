import type { Env } from "../env";
import { QueueMessage, QueueName } from "./messages";

export type MessageHandler = (message: Message<QueueMessage>, env: Env, context: { deadLetter: boolean }) => Promise<void>;

/**
 * Which handler serves each queue. A handler acks, retries (with backoff) or throws; a throw is
 * a retry with the queue's default delay. Feature consumers register here.
 */
const handlers: Partial<Record<string, MessageHandler>> = {};

export function registerConsumer(queue: string, handler: MessageHandler) {
  handlers[queue] = handler;
}

export async function handleQueueBatch(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  const handler = handlers[batch.queue];
  const deadLetter = batch.queue === QueueName.activationsDeadLetter || batch.queue === QueueName.notificationsDeadLetter;
  for (const message of batch.messages) {
    const parsed = QueueMessage.safeParse(message.body);
    if (!parsed.success || !handler) {
      console.error(JSON.stringify({ level: "error", msg: "unhandled queue message", queue: batch.queue, id: message.id }));
      message.ack();
      continue;
    }
    try {
      await handler(message as Message<QueueMessage>, env, { deadLetter });
    } catch (error) {
      console.error(JSON.stringify({ level: "error", msg: "queue handler failed", queue: batch.queue, id: message.id, error: String(error) }));
      message.retry({ delaySeconds: backoffSeconds(message.attempts) });
    }
  }
}

/** Exponential backoff for retries: 2, 4, 8, 16 ... seconds, capped at 5 minutes. */
export function backoffSeconds(attempts: number): number {
  return Math.min(300, 2 ** Math.max(1, attempts));
}
