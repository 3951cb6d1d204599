// The request cap on /notifications/send and /bulk (the real NOTIFY_LIMITER binding, wrangler.toml:
// 60 a minute per user) counts only requests that write no message; sends that write messages are
// counted by the sender's hourly allowance in D1 instead. Miniflare aligns the binding's windows to
// the wall clock, so every test that counts up to the cap starts early in a window.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { Env } from "../../../src/env";
import { recordingQueue } from "../../faults/helpers";
import { createUser, unique, type TestUser } from "../../helpers/factories";
import { withinOneRateWindow } from "../../helpers/rate-window";
import { postWithEnv } from "../../helpers/worker-env";

const CAP = 60;

/** The recipient's daily cap is raised out of the way: these tests count requests, not messages to one address. */
function setUp() {
  const queue = recordingQueue<{ type: string; notification_id: string }>();
  return { queue, workerEnv: { ...env, NOTIFICATIONS: queue, RECIPIENT_DAILY_MESSAGE_LIMIT: "1000" } as unknown as Env };
}

type Answer = { status: number; body: Record<string, any>; headers: Headers };
const all = (n: number, call: (i: number) => Promise<Answer>) => Promise.all(Array.from({ length: n }, (_, i) => call(i)));
const statusCounts = (answers: Answer[]) => {
  const counts: Record<number, number> = {};
  for (const { status } of answers) counts[status] = (counts[status] ?? 0) + 1;
  return counts;
};

const toSelf = (user: TestUser, i = 0) => ({ title: `Hello ${i}`, message: "Cap check", recipient_type: "email", recipient: user.email });
const toStranger = (i = 0) => ({ title: `Hello ${i}`, message: "Cap check", recipient_type: "email", recipient: `stranger-${i}@example.test` });

function sender(workerEnv: Env, user: TestUser) {
  return {
    send: (body: unknown, key?: string) =>
      postWithEnv(workerEnv, "/api/v1/notifications/send/", { token: user.token, body, headers: key ? { "idempotency-key": key } : undefined }),
    bulk: (items: unknown[]) => postWithEnv(workerEnv, "/api/v1/notifications/bulk/", { token: user.token, body: { notifications: items } }),
  };
}

/** The cap's own 429: none of the answer it replaced (a replay's header, the allowance's Retry-After or details) shows. */
function expectCapRefusal(res: Answer) {
  expect(res.status).toBe(429);
  expect(res.body.code).toBe("RATE_LIMITED");
  expect(Object.keys(res.body).sort()).toEqual(["code", "error", "request_id"]);
  expect(res.headers.get("retry-after")).toBe("60");
  expect(res.headers.get("idempotent-replayed")).toBeNull();
  expect(res.headers.get("x-request-id")).toBe(res.body.request_id);
}

describe("the notification request cap (NOTIFY_LIMITER: 60 a minute per user, charged for requests that write no message)", () => {
  it("never charges a send that queues a message: 80 at once are all 201, each counted by the hourly allowance", async () => {
    await withinOneRateWindow();
    const { queue, workerEnv } = setUp();
    const user = await createUser();
    const { send } = sender(workerEnv, user);
    const answers = await all(80, (i) => send(toSelf(user, i)));
    expect(statusCounts(answers)).toEqual({ 201: 80 });
    expect(queue.sent).toHaveLength(80);
    const counted = await env.DB.prepare("SELECT count FROM rate_counters WHERE key = ?").bind(`messages:sender:${user.id}`).first<number>("count");
    expect(counted).toBe(80);
  });

  it("charges refusals: after 60 refused sends the next request is 429, and then even a valid send of that user is 429 and queues nothing; another user is not affected", async () => {
    await withinOneRateWindow();
    const { queue, workerEnv } = setUp();
    const user = await createUser();
    const { send, bulk } = sender(workerEnv, user);
    // 40 sends to strangers (403) and 30 invalid bodies (400), all at once: exactly 60 are answered, the rest are the cap's.
    const answers = await all(70, (i) => (i < 40 ? send(toStranger(i)) : send({ title: "", recipient_type: "pigeon" })));
    const counts = statusCounts(answers);
    expect(counts[429]).toBe(10);
    expect((counts[403] ?? 0) + (counts[400] ?? 0)).toBe(CAP);
    for (const limited of answers.filter((a) => a.status === 429)) expectCapRefusal(limited);

    expectCapRefusal(await send(toSelf(user)));
    expectCapRefusal(await bulk([toSelf(user)]));
    expect(queue.sent).toHaveLength(0);

    const other = await createUser();
    expect((await sender(workerEnv, other).send(toSelf(other))).status).toBe(201);
  });

  it("charges Idempotency-Key replays: the first send is free, 60 replays are answered, the next is 429", async () => {
    await withinOneRateWindow();
    const { queue, workerEnv } = setUp();
    const user = await createUser();
    const { send } = sender(workerEnv, user);
    const key = unique("cap-key");
    const first = await send(toSelf(user), key);
    expect(first.status).toBe(201);
    const replays = await all(CAP, () => send(toSelf(user), key));
    expect(statusCounts(replays)).toEqual({ 201: CAP });
    for (const replay of replays) {
      expect(replay.headers.get("idempotent-replayed")).toBe("true");
      expect(replay.body).toEqual(first.body);
    }
    expectCapRefusal(await send(toSelf(user), key));
    expect(queue.sent).toHaveLength(1);
  });

  it("charges a bulk request with no item queued, and not one that queues items; past the cap a bulk that would queue is refused too", async () => {
    await withinOneRateWindow();
    const { queue, workerEnv } = setUp();
    const user = await createUser();
    const { bulk } = sender(workerEnv, user);
    const queued = await all(5, (i) => bulk([toSelf(user, i), { title: "x", message: "y", recipient_type: "email", recipient: "not an address" }]));
    expect(queued.map((a) => [a.status, a.body.queued])).toEqual(Array(5).fill([200, 1]));

    const invalidOnly = () => bulk([{ title: "x", message: "y", recipient_type: "email", recipient: "not an address" }]);
    const nothingQueued = await all(CAP, invalidOnly);
    expect(nothingQueued.map((a) => [a.status, a.body.queued])).toEqual(Array(CAP).fill([200, 0]));
    // The cap's unit for a bulk that queued something was never taken, so the 61st charged request is the one refused.
    expectCapRefusal(await invalidOnly());
    expectCapRefusal(await bulk([toSelf(user)]));
    expect(queue.sent).toHaveLength(5);
  });

  it("charges the hourly allowance's own refusal, which stays a 429 of its own until the cap is reached", async () => {
    await withinOneRateWindow();
    const { workerEnv } = setUp();
    const limited = { ...workerEnv, SENDER_HOURLY_MESSAGE_LIMIT: "2" } as Env;
    const user = await createUser();
    const { send } = sender(limited, user);
    expect((await all(2, (i) => send(toSelf(user, i)))).map((a) => a.status)).toEqual([201, 201]);
    const refused = await all(CAP, (i) => send(toSelf(user, i)));
    expect(statusCounts(refused)).toEqual({ 429: CAP });
    for (const answer of refused) expect(answer.body.details).toMatchObject({ limit: 2 });
    expectCapRefusal(await send(toSelf(user)));
  });
});
