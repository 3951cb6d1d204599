// POST /notifications/send/ and /bulk/ with an Idempotency-Key: the claim and the stored answer
// commit in the batch that writes the notifications, so a retry (however close behind) sends
// nothing twice.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { Env } from "../../../src/env";
import { interceptD1, postWithEnv } from "../../helpers/worker-env";
import { createUser, unique } from "../../helpers/factories";
import { quietly, recordingQueue } from "../../faults/helpers";

type Queue = ReturnType<typeof recordingQueue<{ type: string; notification_id: string }>>;

async function sendWithKey(workerEnv: Env, token: string, body: Record<string, unknown>, key: string, path = "/api/v1/notifications/send/") {
  const response = await postWithEnv(workerEnv, path, { token, body, headers: { "idempotency-key": key } });
  return { status: response.status, replayed: response.headers.get("idempotent-replayed"), body: response.body as Record<string, any> };
}

async function setUp(overrides: Partial<Env> = {}) {
  const user = await createUser();
  const queue: Queue = recordingQueue();
  const workerEnv = { ...env, NOTIFICATIONS: queue, ...overrides } as unknown as Env;
  const body = { title: "Hello", message: "World", recipient_type: "email", recipient: user.email };
  return { user, queue, workerEnv, body, key: unique("notify-key") };
}

const rowsOf = (userId: number) =>
  env.DB.prepare("SELECT id, status FROM notifications WHERE user_id = ?").bind(userId).all<{ id: string; status: string }>().then((r) => r.results);
const senderCount = (userId: number) => env.DB.prepare("SELECT count FROM rate_counters WHERE key = ?").bind(`messages:sender:${userId}`).first<number>("count");

describe("notification send with an Idempotency-Key", () => {
  it("ten concurrent sends with one key write one notification and one queue message, take one message of the allowance, and all answer the same", async () => {
    const { user, queue, workerEnv, body, key } = await setUp();
    const answers = await Promise.all(Array.from({ length: 10 }, () => sendWithKey(workerEnv, user.token, body, key)));

    expect(answers.map((a) => a.status)).toEqual(Array(10).fill(201));
    const first = answers.find((a) => a.replayed === null)!;
    expect(answers.filter((a) => a.replayed === "true")).toHaveLength(9);
    for (const answer of answers) expect(answer.body).toEqual(first.body);
    expect(await rowsOf(user.id)).toEqual([{ id: first.body.id, status: "queued" }]);
    expect(queue.sent).toMatchObject([{ type: "notification.deliver", notification_id: first.body.id }]);
    expect(await senderCount(user.id)).toBe(1);
  });

  it("a later retry replays the same body; the key with another body is 422 and sends nothing", async () => {
    const { user, queue, workerEnv, body, key } = await setUp();
    const first = await sendWithKey(workerEnv, user.token, body, key);
    expect(first).toMatchObject({ status: 201, replayed: null, body: { status: "queued", recipient: user.email } });
    const again = await sendWithKey(workerEnv, user.token, body, key);
    expect(again).toEqual({ status: 201, replayed: "true", body: first.body });
    const other = await sendWithKey(workerEnv, user.token, { ...body, title: "Another" }, key);
    expect(other.status).toBe(422);
    expect(other.body.code).toBe("IDEMPOTENCY_KEY_REUSED");
    expect((await rowsOf(user.id)).map((r) => r.id)).toEqual([first.body.id]);
    expect(queue.sent).toHaveLength(1);
  });

  it("what the batch decided is what is stored: a send skipped for the recipient's daily cap replays skipped with the reason", async () => {
    const { user, queue, workerEnv, body, key } = await setUp();
    const capped = { ...workerEnv, RECIPIENT_DAILY_MESSAGE_LIMIT: "1" } as Env;
    expect((await sendWithKey(capped, user.token, body, unique("notify-key"))).body.status).toBe("queued");
    const skipped = await sendWithKey(capped, user.token, body, key);
    expect(skipped.body).toMatchObject({ status: "skipped", last_error: "recipient daily message limit reached" });
    expect(await sendWithKey(capped, user.token, body, key)).toEqual({ status: 201, replayed: "true", body: skipped.body });
    expect(queue.sent).toHaveLength(1);
  });

  it("a send whose queue send fails answers pending, and its replay says pending too", async () => {
    const { user, queue, workerEnv, body, key } = await setUp();
    queue.failing = true;
    const { result: first } = await quietly(() => sendWithKey(workerEnv, user.token, body, key));
    expect(first).toMatchObject({ status: 201, body: { status: "pending" } });
    queue.failing = false;
    expect(await sendWithKey(workerEnv, user.token, body, key)).toEqual({ status: 201, replayed: "true", body: first.body });
    expect(await rowsOf(user.id)).toEqual([{ id: first.body.id, status: "pending" }]);
    expect(queue.sent).toEqual([]);
  });

  it("a send past the hourly allowance writes nothing and its 429 is what the key replays", async () => {
    const { user, queue, workerEnv, body, key } = await setUp({ SENDER_HOURLY_MESSAGE_LIMIT: "1" });
    expect((await sendWithKey(workerEnv, user.token, body, unique("notify-key"))).status).toBe(201);
    const refused = await sendWithKey(workerEnv, user.token, body, key);
    expect(refused.status).toBe(429);
    expect(refused.body.code).toBe("RATE_LIMITED");
    expect(await sendWithKey(workerEnv, user.token, body, key)).toMatchObject({ status: 429, replayed: "true", body: { code: "RATE_LIMITED", error: refused.body.error } });
    expect(await rowsOf(user.id)).toHaveLength(1);
    expect(await senderCount(user.id)).toBe(1);
    expect(queue.sent).toHaveLength(1);
  });

  it("a send to a stranger stores its 403, not the 201 its batch carried, and the key replays the 403 even once that address is the user's own", async () => {
    const { user, queue, workerEnv, body, key } = await setUp();
    const strangerAddress = `${unique("stranger")}@example.test`;
    const refused = await sendWithKey(workerEnv, user.token, { ...body, recipient: strangerAddress }, key);
    expect(refused.status).toBe(403);
    expect(refused.body.code).toBe("FORBIDDEN");
    const scope = `${user.id}:POST:/api/v1/notifications/send:${key}`;
    expect(await env.DB.prepare("SELECT state, response_status FROM idempotency_keys WHERE scope = ?").bind(scope).first()).toEqual({ state: "done", response_status: 403 });
    await env.DB.prepare("UPDATE users SET email = ? WHERE id = ?").bind(strangerAddress, user.id).run();
    expect(await sendWithKey(workerEnv, user.token, { ...body, recipient: strangerAddress }, key)).toMatchObject({ status: 403, replayed: "true", body: { error: refused.body.error } });
    expect(await rowsOf(user.id)).toEqual([]);
    expect(await senderCount(user.id)).toBeNull();
    expect(queue.sent).toEqual([]);
  });

  it("a 5xx releases the key: the batch refused, nothing written, and the same key then sends once", async () => {
    const { user, queue, workerEnv, body, key } = await setUp();
    let refuse = true;
    const failingDb = interceptD1(env.DB, (_target, property) =>
      property === "batch" && refuse ? async () => ((refuse = false), Promise.reject(new Error("D1_ERROR: injected: the database is unavailable"))) : undefined,
    );
    const { result: failed } = await quietly(() => sendWithKey({ ...workerEnv, DB: failingDb } as Env, user.token, body, key));
    expect(failed.status).toBe(500);
    expect(await rowsOf(user.id)).toEqual([]);
    const retry = await sendWithKey(workerEnv, user.token, body, key);
    expect(retry).toMatchObject({ status: 201, replayed: null });
    expect(await rowsOf(user.id)).toEqual([{ id: retry.body.id, status: "queued" }]);
    expect(queue.sent.map((m) => m.notification_id)).toEqual([retry.body.id]);
  });
});

describe("bulk send with an Idempotency-Key", () => {
  it("a bulk request with a stranger stores its 403 with the indexes, and the key replays it", async () => {
    const { user, queue, workerEnv, body, key } = await setUp();
    const bulk = { notifications: [body, { ...body, recipient: `${unique("stranger")}@example.test` }] };
    const refused = await sendWithKey(workerEnv, user.token, bulk, key, "/api/v1/notifications/bulk/");
    expect(refused).toMatchObject({ status: 403, body: { details: { refused_indexes: [1] } } });
    expect(await sendWithKey(workerEnv, user.token, bulk, key, "/api/v1/notifications/bulk/")).toEqual({ ...refused, replayed: "true" });
    expect(await rowsOf(user.id)).toEqual([]);
    expect(queue.sent).toEqual([]);
  });


  it("each item is answered as its batch wrote it (queued, pending for a time past the queue's delay, skipped for the daily cap), and the key replays exactly that", async () => {
    const { user, queue, workerEnv, body, key } = await setUp();
    const capped = { ...workerEnv, RECIPIENT_DAILY_MESSAGE_LIMIT: "2" } as Env;
    const inTwoDays = new Date(Date.now() + 2 * 86_400_000).toISOString();
    const bulk = { notifications: [body, { ...body, title: "Later", scheduled_at: inTwoDays }, { ...body, recipient: "not-an-email" }, { ...body, title: "Third today" }] };
    const first = await sendWithKey(capped, user.token, bulk, key, "/api/v1/notifications/bulk/");

    expect(first).toMatchObject({ status: 200, replayed: null, body: { total: 4, queued: 1, pending: 1, skipped: 1, failed: 1 } });
    const results: { index: number; status: string; id?: string }[] = first.body.results;
    expect(results.map((r) => [r.index, r.status])).toEqual([[0, "queued"], [1, "pending"], [2, "error"], [3, "skipped"]]);
    const byId = new Map((await rowsOf(user.id)).map((r) => [r.id, r.status]));
    for (const r of results) if (r.id) expect(byId.get(r.id)).toBe(r.status);
    expect(queue.sent.map((m) => m.notification_id)).toEqual([results[0]!.id]);
    expect(await sendWithKey(capped, user.token, bulk, key, "/api/v1/notifications/bulk/")).toEqual({ ...first, replayed: "true" });
  });

  it("concurrent bulk requests with one key write the items once, queue each once, and answer the same ids", async () => {
    const { user, queue, workerEnv, body, key } = await setUp();
    const bulk = { notifications: [body, { ...body, title: "Second" }, { ...body, recipient: "not-an-email" }] };
    const answers = await Promise.all(Array.from({ length: 5 }, () => sendWithKey(workerEnv, user.token, bulk, key, "/api/v1/notifications/bulk/")));

    expect(answers.map((a) => a.status)).toEqual(Array(5).fill(200));
    expect(answers.filter((a) => a.replayed === "true")).toHaveLength(4);
    const first = answers[0]!.body;
    for (const answer of answers) expect(answer.body).toEqual(first);
    expect(first).toMatchObject({ total: 3, queued: 2, failed: 1 });
    const ids = first.results.filter((r: { status: string }) => r.status === "queued").map((r: { id: string }) => r.id);
    expect((await rowsOf(user.id)).map((r) => r.id).sort()).toEqual([...ids].sort());
    expect(queue.sent.map((m) => m.notification_id).sort()).toEqual([...ids].sort());
    expect(await senderCount(user.id)).toBe(2);
  });
});
