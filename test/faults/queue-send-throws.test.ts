// Fault: the queue refuses messages (a Queues outage) right after D1 committed the work.
// Nothing the user paid for is stranded: the outbox (activations) and the pending rows
// (notifications) are relayed by the cron once the queue takes messages again.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { Env } from "../../src/env";
import { OUTBOX_RELAY_AFTER_SECONDS } from "../../src/features/activation/activation.service";
import { notify } from "../../src/features/notifications/notify";
import { QueueName } from "../../src/queues/messages";
import { createUser, unique } from "../helpers/factories";
import { makeOffer, txRow } from "../helpers/offer-factories";
import { call, deliverTo, expectConservation, quietly, recordingQueue, tick } from "./helpers";

const later = (seconds: number) => new Date(Date.now() + seconds * 1000);
const outboxRow = (id: string) => env.DB.prepare("SELECT transaction_id FROM activation_outbox WHERE transaction_id = ?").bind(id).first();

describe("queue send throwing", () => {
  it("an activation whose queue send throws is still a 202 PENDING (paid and recorded), relayed by the cron, then activated once", async () => {
    const activations = recordingQueue();
    activations.failing = true;
    const workerEnv = { ...env, ACTIVATIONS: activations } as unknown as Env;
    const user = await createUser({ balance: 5000 });
    const offer = await makeOffer({ price: 2000 });

    const { result: created, logs } = await quietly(() => call(workerEnv, "POST", "/api/v1/activation/", { token: user.token, body: { offer_id: offer.id } }));
    expect(created.status).toBe(202);
    expect(created.body.status).toBe("PENDING");
    const id = created.body.transaction_id as string;
    expect(logs.some((line) => line.includes("activation not queued"))).toBe(true);
    expect(await outboxRow(id)).not.toBeNull();

    // Still failing: the relay keeps the row.
    await quietly(() => tick(workerEnv, later(OUTBOX_RELAY_AFTER_SECONDS + 1)));
    expect(await outboxRow(id)).not.toBeNull();

    // The queue is back: one relay sends it, a second relay has nothing left to send.
    activations.failing = false;
    await tick(workerEnv, later(OUTBOX_RELAY_AFTER_SECONDS + 1));
    await tick(workerEnv, later(OUTBOX_RELAY_AFTER_SECONDS + 2));
    expect(activations.sent.filter((m: any) => m.transaction_id === id)).toEqual([{ type: "activation.requested", transaction_id: id }]);
    expect(await outboxRow(id)).toBeNull();

    await deliverTo(workerEnv, QueueName.activations, activations.sent);
    expect((await txRow(id))!.status).toBe("SUCCESS");
    await expectConservation(user.id);
  });

  it("a queued activation leaves its outbox row to the consumer, which removes it when the message arrives: the relay then sends nothing more", async () => {
    const activations = recordingQueue();
    const workerEnv = { ...env, ACTIVATIONS: activations } as unknown as Env;
    const user = await createUser({ balance: 5000 });
    const offer = await makeOffer({ price: 2000 });
    const created = await call(workerEnv, "POST", "/api/v1/activation/", { token: user.token, body: { offer_id: offer.id } });
    expect(created.status).toBe(202);
    const id = created.body.transaction_id as string;
    expect(activations.sent).toMatchObject([{ type: "activation.requested", transaction_id: id }]);
    // The request did not spend a round trip deleting it.
    expect(await outboxRow(id)).not.toBeNull();

    await deliverTo(workerEnv, QueueName.activations, activations.sent);
    expect(await outboxRow(id)).toBeNull();
    expect((await txRow(id))!.status).toBe("SUCCESS");
    await tick(workerEnv, later(OUTBOX_RELAY_AFTER_SECONDS + 1));
    expect(activations.sent.filter((m: any) => m.transaction_id === id)).toHaveLength(1);
    await expectConservation(user.id);
  });

  it("the relay leaves a request that is still running alone, and drops the row of an activation already settled", async () => {
    const activations = recordingQueue();
    const workerEnv = { ...env, ACTIVATIONS: activations } as unknown as Env;
    const user = await createUser({ balance: 5000 });
    const offer = await makeOffer({ price: 2000 });
    activations.failing = true;
    const { result: created } = await quietly(() => call(workerEnv, "POST", "/api/v1/activation/", { token: user.token, body: { offer_id: offer.id } }));
    const id = created.body.transaction_id as string;
    activations.failing = false;

    await tick(workerEnv, new Date());
    expect(activations.sent).toEqual([]);
    expect(await outboxRow(id)).not.toBeNull();

    // Settled some other way (a partner callback): the row goes without a message.
    await env.DB.prepare("UPDATE transactions SET status = 'SUCCESS' WHERE id = ?").bind(id).run();
    await tick(workerEnv, later(OUTBOX_RELAY_AFTER_SECONDS + 1));
    expect(activations.sent).toEqual([]);
    expect(await outboxRow(id)).toBeNull();
    await expectConservation(user.id);
  });

  it("a send request whose queue send throws answers 201 pending, as the row is, and the cron sends it once", async () => {
    const notifications = recordingQueue<{ type: string; notification_id: string }>();
    notifications.failing = true;
    const workerEnv = { ...env, NOTIFICATIONS: notifications } as unknown as Env;
    const user = await createUser();
    const { result: res } = await quietly(() =>
      call(workerEnv, "POST", "/api/v1/notifications/send/", { token: user.token, body: { title: "Hello", message: "World", recipient_type: "email", recipient: user.email } }),
    );
    expect(res.status).toBe(201);
    expect(res.body.status).toBe("pending");
    const stored = await env.DB.prepare("SELECT status, updated_at FROM notifications WHERE id = ?").bind(res.body.id).first();
    expect(stored).toEqual({ status: "pending", updated_at: res.body.updated_at });

    notifications.failing = false;
    await tick(workerEnv, later(6 * 60));
    await tick(workerEnv, later(6 * 60 + 1));
    expect(notifications.sent).toEqual([{ type: "notification.deliver", notification_id: res.body.id }]);
  });

  it("one message refused by the queue's send ends as a batch refused by its sendBatch does: answered and stored pending, its key replays pending, the cron sends each once", async () => {
    const notifications = recordingQueue<{ type: string; notification_id: string }>();
    const workerEnv = { ...env, NOTIFICATIONS: notifications } as unknown as Env;
    const user = await createUser();
    const item = { title: "Hello", message: "World", recipient_type: "email", recipient: user.email };
    const single = (key: string) => call(workerEnv, "POST", "/api/v1/notifications/send/", { token: user.token, body: item, headers: { "idempotency-key": key } });
    const bulk = () => call(workerEnv, "POST", "/api/v1/notifications/bulk/", { token: user.token, body: { notifications: [item, { ...item, title: "Second" }] } });
    const statusOf = (id: string) => env.DB.prepare("SELECT status FROM notifications WHERE id = ?").bind(id).first<string>("status");

    const key = unique("refused-send");
    notifications.failing = "send";
    const { result: one, logs: oneLogs } = await quietly(() => single(key));
    notifications.failing = "sendBatch";
    const { result: two, logs: twoLogs } = await quietly(() => bulk());
    notifications.failing = false;

    expect(one.status).toBe(201);
    expect(one.body.status).toBe("pending");
    const replay = await single(key);
    expect(replay.headers.get("idempotent-replayed")).toBe("true");
    expect(replay).toMatchObject({ status: 201, body: one.body });
    expect(two.status).toBe(200);
    const bulkIds: string[] = two.body.results.map((r: { id: string }) => r.id);
    expect(bulkIds).toHaveLength(2);
    for (const id of [one.body.id, ...bulkIds]) expect(await statusOf(id)).toBe("pending");
    for (const logs of [oneLogs, twoLogs]) expect(logs.some((line) => line.includes("notification enqueue failed"))).toBe(true);
    expect(notifications.sent).toEqual([]);

    await tick(workerEnv, later(6 * 60));
    await tick(workerEnv, later(6 * 60 + 1));
    const mine = [one.body.id, ...bulkIds];
    expect(notifications.sent.map((m) => m.notification_id).filter((id) => mine.includes(id)).sort()).toEqual(mine.sort());
  });

  it("a bulk request whose queue send throws answers each written item pending (none queued), its key replays that, and the cron sends each once", async () => {
    const notifications = recordingQueue<{ type: string; notification_id: string }>();
    const workerEnv = { ...env, NOTIFICATIONS: notifications } as unknown as Env;
    const user = await createUser();
    const item = { title: "Hello", message: "World", recipient_type: "email", recipient: user.email };
    const body = { notifications: [item, { ...item, recipient: "not an address" }, { ...item, title: "Second" }] };
    const key = unique("refused-bulk");
    const bulk = () => call(workerEnv, "POST", "/api/v1/notifications/bulk/", { token: user.token, body, headers: { "idempotency-key": key } });

    notifications.failing = "sendBatch";
    const { result: answered, logs } = await quietly(bulk);
    notifications.failing = false;
    expect(logs.some((line) => line.includes("notification enqueue failed"))).toBe(true);
    expect(answered.status).toBe(200);
    expect(answered.body).toMatchObject({ total: 3, queued: 0, pending: 2, skipped: 0, failed: 1 });
    const results: { index: number; status: string; id?: string }[] = answered.body.results;
    expect(results.map((r) => [r.index, r.status])).toEqual([[0, "pending"], [1, "error"], [2, "pending"]]);
    const ids = results.flatMap((r) => (r.id ? [r.id] : []));
    const { results: rows } = await env.DB.prepare("SELECT id, status FROM notifications WHERE id IN (SELECT value FROM json_each(?)) ORDER BY id").bind(JSON.stringify(ids)).all();
    expect(rows).toEqual(ids.sort().map((id) => ({ id, status: "pending" })));

    // The key replays the same truth, and sends nothing.
    const replay = await bulk();
    expect(replay.headers.get("idempotent-replayed")).toBe("true");
    expect(replay).toMatchObject({ status: 200, body: answered.body });
    expect(notifications.sent).toEqual([]);

    await tick(workerEnv, later(6 * 60));
    await tick(workerEnv, later(6 * 60 + 1));
    expect(notifications.sent.map((m) => m.notification_id).filter((id) => ids.includes(id)).sort()).toEqual(ids.sort());
  });

  it("an order placed and moved while the queue refuses answers as always; its notices are stored pending and the cron sends each once", async () => {
    const notifications = recordingQueue<{ type: string; notification_id: string }>();
    notifications.failing = true;
    const workerEnv = { ...env, NOTIFICATIONS: notifications } as unknown as Env;
    const user = await createUser();
    const admin = await createUser({ role: "admin" });
    const { result: placed } = await quietly(() => call(workerEnv, "POST", "/api/v1/orders/", { token: user.token, body: { total_amount: "149.99" } }));
    expect(placed.status).toBe(201);
    expect(placed.body).toMatchObject({ status: "pending", customer_email: user.email });
    const { result: moved } = await quietly(() => call(workerEnv, "PUT", `/api/v1/orders/${placed.body.id}/status`, { token: admin.token, body: { status: "confirmed" } }));
    expect(moved.status).toBe(200);
    expect(moved.body.status).toBe("confirmed");
    const notices = () =>
      env.DB.prepare("SELECT id, status FROM notifications WHERE dedupe_key LIKE ? ORDER BY created_at, id").bind(`order:${placed.body.id}:%`).all<{ id: string; status: string }>().then((r) => r.results);
    const stored = await notices();
    expect(stored.map((n) => n.status)).toEqual(["pending", "pending"]);

    notifications.failing = false;
    await tick(workerEnv, later(6 * 60));
    await tick(workerEnv, later(6 * 60 + 1));
    const ids = stored.map((n) => n.id);
    expect(notifications.sent.map((m) => m.notification_id).filter((id) => ids.includes(id)).sort()).toEqual([...ids].sort());
    expect((await notices()).map((n) => n.status)).toEqual(["queued", "queued"]);
  });

  it("a notification whose queue send throws stays pending and the cron enqueues it once the queue is back", async () => {
    const notifications = recordingQueue();
    notifications.failing = true;
    const workerEnv = { ...env, NOTIFICATIONS: notifications } as unknown as Env;
    const user = await createUser({ balance: 100 });
    const { result: sent } = await quietly(() =>
      notify(workerEnv, { userId: user.id, channel: "email", recipient: user.email, title: "Hello", message: "World" }),
    );
    expect(sent.status).toBe("pending");

    notifications.failing = false;
    await tick(workerEnv, later(6 * 60));
    await tick(workerEnv, later(6 * 60 + 1));
    expect(notifications.sent).toEqual([{ type: "notification.deliver", notification_id: sent.id }]);
    await deliverTo(workerEnv, QueueName.notifications, notifications.sent);
    const row = await env.DB.prepare("SELECT status FROM notifications WHERE id = ?").bind(sent.id).first<{ status: string }>();
    expect(row!.status).toBe("sent");
    await expectConservation(user.id);
  });
});
