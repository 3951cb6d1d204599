import { env } from "cloudflare:workers";
import { recordRetryDelays } from "../helpers/retry-delays";
import { createExecutionContext, createMessageBatch, createScheduledController, getQueueResult, waitOnExecutionContext } from "cloudflare:test";
import { expect, inject } from "vitest";
import type { Env } from "../../src/env";
import worker from "../../src/index";
import { CRON } from "../../src/cron/schedules";
import { BASE } from "../helpers/api";
import { walletState } from "../helpers/factories";

export type FaultMode = "up" | "down" | "hang";

/**
 * A Redis bridge of this test file's own (see README.md here), in front of the same real Redis
 * as every test: `down` cuts each request's connection, `hang` holds requests unanswered, `up`
 * serves again with the data Redis kept.
 */
export async function faultBridge() {
  const created = await fetch(`${inject("faultBridgeFactoryUrl")}/bridges`, { method: "POST" });
  const { url } = (await created.json()) as { url: string };
  const control = async (mode?: FaultMode) => {
    const response = await fetch(`${url}/__fault`, {
      method: mode ? "POST" : "GET",
      headers: { authorization: `Bearer ${env.UPSTASH_REDIS_REST_TOKEN}` },
      ...(mode ? { body: JSON.stringify({ mode }) } : {}),
    });
    return (await response.json()) as { mode: FaultMode; requests: number };
  };
  return {
    url,
    /**
     * The worker's env with this bridge as its Redis, plus overrides. Its queues only record
     * (the test delivers what it wants, when it wants), so the real consumers never race it.
     */
    env: (overrides: Partial<Env> = {}) =>
      ({ ...env, ACTIVATIONS: recordingQueue(), NOTIFICATIONS: recordingQueue(), UPSTASH_REDIS_REST_URL: url, ...overrides }) as unknown as Env,
    set: (mode: FaultMode) => control(mode),
    /** Redis requests that reached the bridge so far (served, cut or held). */
    requests: async () => (await control()).requests,
  };
}

/** Calls the whole worker with `workerEnv`, like a client; returns status, body and the time it took. */
export async function call(workerEnv: Env, method: string, path: string, options: { token?: string; body?: unknown; headers?: Record<string, string> } = {}) {
  const headers: Record<string, string> = { "cf-connecting-ip": `198.19.${Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 250)}`, ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  if (options.body !== undefined) headers["content-type"] ??= "application/json";
  const started = Date.now();
  const ctx = createExecutionContext();
  const response = await worker.fetch(
    new Request(`${BASE}${path}`, { method, headers, body: options.body === undefined ? undefined : JSON.stringify(options.body) }),
    workerEnv,
    ctx,
  );
  const text = await response.text();
  await waitOnExecutionContext(ctx);
  return { status: response.status, body: text ? JSON.parse(text) : null, ms: Date.now() - started, headers: response.headers };
}

let seq = 0;
/** Delivers messages through the worker's queue() handler; returns acks, retries and the retry delays asked for. */
export async function deliverTo(workerEnv: Env, queue: string, bodies: unknown[], options: { attempts?: number; ids?: string[] } = {}) {
  const batch = createMessageBatch(
    queue,
    bodies.map((body, i) => ({ id: options.ids?.[i] ?? `fault-${seq++}`, timestamp: new Date(), attempts: options.attempts ?? 1, body })),
  );
  const retryDelays = recordRetryDelays(batch);
  const ctx = createExecutionContext();
  await worker.queue(batch, workerEnv);
  return { ...(await getQueueResult(batch, ctx)), retryDelays };
}

/** Runs a cron schedule through the worker's scheduled() handler, at `at`. */
export async function tick(workerEnv: Env, at = new Date(), cron: string = CRON.frequent) {
  await worker.scheduled(createScheduledController({ cron, scheduledTime: at.getTime() }), workerEnv);
}

/**
 * A queue binding that records what it was given (`sent`: the bodies; `messages`: each with its
 * delay), through `send` or `sendBatch` alike. While `failing` is true both throw; set to "send" or
 * "sendBatch" only that one does, so a test can refuse one message or a batch on its own.
 */
export function recordingQueue<T = unknown>() {
  const sent: T[] = [];
  const messages: { body: T; delaySeconds?: number }[] = [];
  const refuse = (method: "send" | "sendBatch") => {
    if (queue.failing === true || queue.failing === method) throw new Error("Queue send failed: service unavailable");
  };
  const record = (body: T, delaySeconds?: number) => {
    sent.push(body);
    messages.push(delaySeconds === undefined ? { body } : { body, delaySeconds });
  };
  const queue = {
    failing: false as boolean | "send" | "sendBatch",
    sent,
    messages,
    async send(body: T, options?: { delaySeconds?: number }) {
      refuse("send");
      record(body, options?.delaySeconds);
    },
    async sendBatch(batch: Iterable<{ body: T; delaySeconds?: number }>) {
      refuse("sendBatch");
      for (const message of batch) record(message.body, message.delaySeconds);
    },
  };
  return queue;
}

/** Invariant 1 for every wallet a fault test touched: balance = sum of its ledger entries. */
export async function expectConservation(...userIds: number[]) {
  for (const id of userIds) {
    const state = await walletState(id);
    expect(state.balance, `wallet ${id}: balance = ledger`).toBe(state.ledger_sum);
  }
}

/** Silences the worker's expected warn/error log lines while a fault runs; returns them. */
export async function quietly<T>(run: () => Promise<T>): Promise<{ result: T; logs: string[] }> {
  const logs: string[] = [];
  const { warn, error } = console;
  console.warn = (line: unknown) => void logs.push(String(line));
  console.error = (line: unknown) => void logs.push(String(line));
  try {
    return { result: await run(), logs };
  } finally {
    console.warn = warn;
    console.error = error;
  }
}

/**
 * Runs `write` just before the next D1 batch anyone in this isolate sends (the wallet's Durable
 * Object runs here in tests, with a binding of its own no test can swap): another isolate or an
 * admin changing a row between a request's read and its write. Patches the D1 classes' batch
 * once, and puts them back at that batch.
 */
export function beforeNextBatch(write: () => Promise<unknown>) {
  const protos = [Object.getPrototypeOf(env.DB), Object.getPrototypeOf(env.DB.withSession("first-unconstrained"))] as Record<string, Function>[];
  const originals = protos.map((proto) => proto.batch!);
  const restore = () => protos.forEach((proto, i) => (proto.batch = originals[i]!));
  protos.forEach((proto, i) => {
    proto.batch = async function (this: object, ...args: unknown[]) {
      restore();
      await write();
      return originals[i]!.apply(this, args);
    };
  });
  return restore;
}
