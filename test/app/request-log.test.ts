import { createExecutionContext, createMessageBatch, createScheduledController, getQueueResult, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { Env } from "../../src/env";
import worker from "../../src/index";
import { api } from "../helpers/api";
import { createUser } from "../helpers/factories";
import { makeOffer } from "../helpers/offer-factories";

const linesOf = (spy: { mock: { calls: unknown[][] } }, msg: string) =>
  spy.mock.calls.flatMap((args) => {
    try {
      const line = JSON.parse(String(args[0]));
      return line.msg === msg ? [line] : [];
    } catch {
      return [];
    }
  });

afterEach(() => vi.restoreAllMocks());

describe("one structured log line per request, queue message and cron job", () => {
  it("logs request id, method, route pattern (not the raw path), status, duration and user", async () => {
    const log = vi.spyOn(console, "log");
    const user = await createUser({ balance: 100 });
    const offer = await makeOffer();
    const res = await api("GET", `/api/v1/offers/${offer.id}`, { token: user.token, headers: { "x-request-id": "trace-log-0001" } });
    expect(res.status).toBe(200);
    const [line, ...more] = linesOf(log, "request").filter((l) => l.request_id === "trace-log-0001");
    expect(more).toEqual([]);
    expect(line).toEqual({
      level: "info",
      msg: "request",
      request_id: "trace-log-0001",
      method: "GET",
      route: "/api/v1/offers/:offer_id",
      status: 200,
      duration_ms: expect.any(Number),
      user_id: user.id,
    });
  });

  it("logs failures too, without a user when there is none", async () => {
    const log = vi.spyOn(console, "log");
    const res = await api("GET", "/api/v1/account", { headers: { "x-request-id": "trace-log-0002" } });
    expect(res.status).toBe(401);
    expect(linesOf(log, "request").find((l) => l.request_id === "trace-log-0002")).toMatchObject({ status: 401, user_id: null, method: "GET" });
  });

  it("carries the request id into the queue messages the request sends", async () => {
    const sent: unknown[] = [];
    const recording = {
      send: async (body: unknown) => void sent.push(body),
      sendBatch: async (messages: Iterable<{ body: unknown }>) => void sent.push(...[...messages].map((m) => m.body)),
    };
    const user = await createUser({ balance: 5000 });
    const offer = await makeOffer({ price: 100 });
    const ctx = createExecutionContext();
    const res = await worker.fetch(
      new Request("http://perks.test/api/v1/activation", {
        method: "POST",
        headers: { authorization: `Bearer ${user.token}`, "content-type": "application/json", "x-request-id": "trace-queue-0003" },
        body: JSON.stringify({ offer_id: offer.id }),
      }),
      { ...env, ACTIVATIONS: recording } as unknown as Env,
      ctx,
    );
    await waitOnExecutionContext(ctx);
    expect(res.status).toBe(202);
    expect(sent).toContainEqual(expect.objectContaining({ type: "activation.requested", request_id: "trace-queue-0003" }));
  });

  it("logs each queue message with the request id that sent it and what the consumer did", async () => {
    const log = vi.spyOn(console, "log");
    const id = `log-${crypto.randomUUID()}`;
    const batch = createMessageBatch("perks-notifications", [
      { id, timestamp: new Date(), attempts: 1, body: { type: "notification.deliver", notification_id: "no-such-notification", request_id: "trace-queue-0004" } },
    ]);
    const ctx = createExecutionContext();
    await worker.queue(batch, env as unknown as Env);
    await getQueueResult(batch, ctx);
    expect(linesOf(log, "queue message").find((l) => l.message_id === id)).toEqual({
      level: "info",
      msg: "queue message",
      queue: "perks-notifications",
      message_id: id,
      type: "notification.deliver",
      request_id: "trace-queue-0004",
      attempts: 1,
      outcome: expect.stringMatching(/^(ack|none)$/),
      duration_ms: expect.any(Number),
    });
  });

  it("logs each cron job of a tick", async () => {
    const log = vi.spyOn(console, "log");
    const controller = createScheduledController({ cron: "5 0 * * *", scheduledTime: new Date() });
    const ctx = createExecutionContext();
    await worker.scheduled(controller, env as unknown as Env);
    await waitOnExecutionContext(ctx);
    const jobs = linesOf(log, "cron job").filter((l) => l.cron === "5 0 * * *").map((l) => [l.job, l.outcome]);
    expect(jobs).toEqual(expect.arrayContaining([["reconcile-ledger", "done"], ["prune-idempotency-keys", "done"]]));
  });
});
