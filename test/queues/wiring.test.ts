import { env } from "cloudflare:workers";
import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { describe, expect, it, vi } from "vitest";
import worker, { queueConsumers } from "../../src/index";
import type { Env } from "../../src/env";
import { dispatchQueueBatch, type QueueConsumers } from "../../src/queues/consumers";
import { QUEUE_NAMES, QueueName } from "../../src/queues/messages";
import wranglerToml from "../../wrangler.toml?raw";
import { recordRetryDelays } from "../helpers/retry-delays";

/** Every `queue = "..."` and `dead_letter_queue = "..."` wrangler.toml declares, producers and consumers. */
function declaredQueues() {
  const names = [...wranglerToml.matchAll(/^\s*(?:queue|dead_letter_queue)\s*=\s*"([^"]+)"/gm)].map((m) => m[1]!);
  const consumed = [...wranglerToml.matchAll(/\[\[queues\.consumers\]\]\s*\nqueue\s*=\s*"([^"]+)"/g)].map((m) => m[1]!);
  return { all: [...new Set(names)].sort(), consumed: consumed.sort() };
}

// Compile-time check (tsc runs over the tests): a consumer table without every queue is refused.
// @ts-expect-error the notifications dead-letter queue has no consumer
const incomplete: QueueConsumers = {
  "perks-activations": queueConsumers["perks-activations"],
  "perks-activations-dlq": queueConsumers["perks-activations-dlq"],
  "perks-notifications": queueConsumers["perks-notifications"],
};
void incomplete;

let seq = 0;
async function run(queue: string, body: unknown, attempts = 1, id = `wiring-${seq++}-${crypto.randomUUID()}`) {
  const batch = createMessageBatch(queue, [{ id, timestamp: new Date(), attempts, body }]);
  const ctx = createExecutionContext();
  await worker.queue(batch, env as unknown as Env);
  return { id, result: await getQueueResult(batch, ctx) };
}

const deadLetters = (id: string) =>
  env.DB.prepare("SELECT queue, body, reason, attempts FROM dead_letters WHERE message_id = ?").bind(id).all<{ queue: string; body: string; reason: string; attempts: number }>();

describe("queue wiring", () => {
  it("the queue list is exactly wrangler.toml's queues, and every one is consumed", () => {
    const { all, consumed } = declaredQueues();
    expect([...QUEUE_NAMES].sort()).toEqual(all);
    expect(consumed).toEqual(all);
    expect(Object.keys(queueConsumers).sort()).toEqual(all);
    expect(Object.values(QueueName).sort()).toEqual(all);
  });

  it("a message for a queue without a consumer is kept in dead_letters, logged, then acknowledged", async () => {
    const errors: string[] = [];
    const original = console.error;
    console.error = (line: string) => void errors.push(String(line));
    let outcome;
    try {
      outcome = await run("perks-unknown-queue", { type: "activation.requested", transaction_id: "t-1" });
    } finally {
      console.error = original;
    }
    expect(outcome.result.explicitAcks).toEqual([outcome.id]);
    const { results } = await deadLetters(outcome.id);
    expect(results).toEqual([{ queue: "perks-unknown-queue", body: JSON.stringify({ type: "activation.requested", transaction_id: "t-1" }), reason: "no consumer for this queue", attempts: 1 }]);
    expect(errors.some((line) => line.includes("queue message dead-lettered") && line.includes(outcome.id))).toBe(true);
  });

  it("a message that does not parse as its queue's schema is dead-lettered with the reason, once however often delivered", async () => {
    const id = `garbled-${crypto.randomUUID()}`;
    for (const attempts of [1, 2]) {
      const { result } = await run(QueueName.activations, { type: "notification.deliver", notification_id: "n-1" }, attempts, id);
      expect(result.explicitAcks).toEqual([id]);
    }
    const { results } = await deadLetters(id);
    expect(results).toHaveLength(1);
    expect(results[0]!.queue).toBe(QueueName.activations);
    expect(results[0]!.reason).toMatch(/^message does not parse: /);
  });

  it("each queue reaches its own consumer: a dead-letter queue fails, the queue itself delivers", async () => {
    const now = new Date().toISOString();
    const ids = [crypto.randomUUID(), crypto.randomUUID()];
    for (const id of ids)
      await env.DB.prepare(
        "INSERT INTO notifications (id, channel, recipient, title, message, status, created_at, updated_at) VALUES (?, 'email', 'x@example.test', 't', 'm', 'queued', ?, ?)",
      )
        .bind(id, now, now)
        .run();
    await run(QueueName.notificationsDeadLetter, { type: "notification.deliver", notification_id: ids[0] });
    await run(QueueName.notifications, { type: "notification.deliver", notification_id: ids[1] });
    const { results } = await env.DB.prepare("SELECT id, status FROM notifications WHERE id IN (?, ?)").bind(ids[0], ids[1]).all<{ id: string; status: string }>();
    expect(Object.fromEntries(results.map((r) => [r.id, r.status]))).toEqual({ [ids[0]!]: "failed", [ids[1]!]: "sent" });
  });

  it("a batch consumer gets the batch's parsed messages together; a throw retries with backoff those it had not settled; one log line each", async () => {
    const seen: string[][] = [];
    const consumers = {
      ...queueConsumers,
      [QueueName.notifications]: {
        batch: async (messages: Message<{ notification_id: string }>[]) => {
          seen.push(messages.map((m) => m.body.notification_id));
          messages[0]!.ack();
          messages[1]!.retry({ delaySeconds: 7 });
          throw new Error("the consumer broke down");
        },
      },
    } as QueueConsumers;
    const bodies = ["n-a", "n-b", "n-c"].map((id) => ({ type: "notification.deliver", notification_id: id }));
    const ids = ["batch-a", "batch-b", "batch-garbled", "batch-c"].map((id) => `${id}-${crypto.randomUUID()}`);
    const batch = createMessageBatch<unknown>(QueueName.notifications, [
      { id: ids[0]!, timestamp: new Date(), attempts: 3, body: bodies[0] },
      { id: ids[1]!, timestamp: new Date(), attempts: 3, body: bodies[1] },
      { id: ids[2]!, timestamp: new Date(), attempts: 3, body: { type: "notification.deliver" } },
      { id: ids[3]!, timestamp: new Date(), attempts: 3, body: bodies[2] },
    ]);
    const retries = recordRetryDelays(batch);
    const log = vi.spyOn(console, "log");
    const error = vi.spyOn(console, "error").mockImplementation(() => {});
    await dispatchQueueBatch(consumers, batch, env as unknown as Env);
    const result = await getQueueResult(batch, createExecutionContext());

    expect(seen).toEqual([["n-a", "n-b", "n-c"]]);
    expect(result.explicitAcks.sort()).toEqual([ids[0]!, ids[2]!].sort());
    expect(retries).toEqual([7, 8]);
    expect(result.retryMessages.map((m) => m.msgId)).toEqual([ids[1], ids[3]]);
    const lines = [...log.mock.calls, ...error.mock.calls].map(([line]) => String(line)).filter((line) => line.includes('"msg":"queue message"'));
    const outcomes = Object.fromEntries(lines.map((line) => JSON.parse(line)).map((l) => [l.message_id, l.outcome]));
    expect(outcomes).toEqual({ [ids[0]!]: "ack", [ids[1]!]: "retry", [ids[3]!]: "error" });
  });

  it("if the dead letter cannot be written, the message is retried rather than acknowledged", async () => {
    const broken = { ...env, DB: { prepare: () => ({ bind: () => ({ run: async () => Promise.reject(new Error("D1 unavailable")) }) }) } } as unknown as Env;
    const batch = createMessageBatch("perks-unknown-queue", [{ id: "dl-broken", timestamp: new Date(), attempts: 1, body: {} }]);
    const ctx = createExecutionContext();
    const original = console.error;
    console.error = () => {};
    try {
      await worker.queue(batch, broken);
    } finally {
      console.error = original;
    }
    const result = await getQueueResult(batch, ctx);
    expect(result.explicitAcks).toEqual([]);
    expect(result.retryMessages.map((m) => m.msgId)).toEqual(["dl-broken"]);
  });
});
