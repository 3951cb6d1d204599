import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { api, isCleanError } from "../../helpers/api";
import { createUser } from "../../helpers/factories";
import { postWithEnv } from "../../helpers/worker-env";
import { recordingQueue } from "../../faults/helpers";
import { deliverNotifications, insertNotification } from "./helpers";

const send = (token: string, body: Record<string, unknown>) => api("POST", "/api/v1/notifications/send/", { token, body });
const valid = { title: "Hello", message: "World", recipient_type: "email", recipient: "someone@example.test" };

describe("POST /notifications/send/", () => {
  it("stores the notification, queues it and answers 201 with it", async () => {
    const user = await createUser({ role: "admin" });
    const res = await send(user.token, { ...valid, priority: "high" });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ title: "Hello", recipient_type: "email", recipient: "someone@example.test", priority: "high", attempts: 0, last_error: null });
    expect(["queued", "sent"]).toContain(res.body.status);
    const row = await env.DB.prepare("SELECT user_id, category FROM notifications WHERE id = ?").bind(res.body.id).first();
    // A manual send is not transactional unless an admin says so: it can be refused by the recipient.
    expect(row).toEqual({ user_id: user.id, category: "system" });
  });

  it("answers the row as it was written: the same as reading it back", async () => {
    const user = await createUser();
    const res = await send(user.token, { ...valid, recipient: user.email, priority: "low" });
    expect(res.status).toBe(201);
    const read = await api("GET", `/api/v1/notifications/${res.body.id}`, { token: user.token });
    // Delivery may already have moved the status on; everything the send decided is what was stored.
    const decided = ({ status, attempts, sent_at, updated_at, last_error, ...rest }: Record<string, unknown>) => rest;
    expect(decided(res.body)).toEqual(decided(read.body));
    expect(res.body).toMatchObject({ status: "queued", attempts: 0, sent_at: null, last_error: null, customer: null, scheduled_at: null });
    expect(res.body.message).toMatch(/^World\n\nStop these messages: http/);
  });

  it("checks the recipient against the channel and normalises WhatsApp numbers", async () => {
    const user = await createUser({ role: "admin" });
    const badEmail = await send(user.token, { ...valid, recipient: "not-an-email" });
    expect(badEmail.status).toBe(400);
    expect(badEmail.body.error).toBe("recipient must be an email address for recipient_type email.");
    expect(isCleanError(badEmail.body)).toBe(true);
    expect((await send(user.token, { ...valid, recipient_type: "telegram", recipient: "chat me" })).status).toBe(400);
    expect((await send(user.token, { ...valid, recipient_type: "telegram", recipient: "@perks_channel" })).status).toBe(201);
    expect((await send(user.token, { ...valid, recipient_type: "whatsapp", recipient: "12345" })).status).toBe(400);
    const whatsapp = await send(user.token, { ...valid, recipient_type: "whatsapp", recipient: "+91 98765-43210" });
    expect(whatsapp.status).toBe(201);
    expect(whatsapp.body.recipient).toBe("+919876543210");
  });

  it("refuses unknown and server-owned fields", async () => {
    const user = await createUser({ role: "admin" });
    const res = await send(user.token, { ...valid, status: "sent" });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe("VALIDATION_ERROR");
  });

  it("accepts scheduled_at in the future up to 30 days, and keeps far ones pending for the cron", async () => {
    const user = await createUser({ role: "admin" });
    const past = await send(user.token, { ...valid, scheduled_at: new Date(Date.now() - 60_000).toISOString() });
    expect(past.status).toBe(400);
    expect(past.body.error).toBe("scheduled_at must be in the future.");
    const tooFar = await send(user.token, { ...valid, scheduled_at: new Date(Date.now() + 31 * 86400_000).toISOString() });
    expect(tooFar.status).toBe(400);
    const at = new Date(Date.now() + 3 * 86400_000).toISOString();
    const later = await send(user.token, { ...valid, scheduled_at: at });
    expect(later.status).toBe(201);
    expect(later.body).toMatchObject({ status: "pending", scheduled_at: at });
  });

  it("queues a send scheduled within 12 hours now, with the delay to its time", async () => {
    const user = await createUser({ role: "admin" });
    const queue = recordingQueue<{ notification_id: string }>();
    const at = new Date(Date.now() + 2 * 3600_000).toISOString();
    const res = await postWithEnv({ ...env, NOTIFICATIONS: queue }, "/api/v1/notifications/send/", { token: user.token, body: { ...valid, scheduled_at: at } });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ status: "queued", scheduled_at: at });
    expect(queue.messages).toHaveLength(1);
    expect(queue.messages[0]!.body.notification_id).toBe(res.body.id);
    expect(queue.messages[0]!.delaySeconds).toBeGreaterThan(7100);
    expect(queue.messages[0]!.delaySeconds).toBeLessThanOrEqual(7200);
  });

  it("needs a token", async () => {
    expect((await api("POST", "/api/v1/notifications/send/", { body: valid })).status).toBe(401);
  });
});

describe("POST /notifications/bulk/", () => {
  it("two bad items among ten: eight queued, the two reported by index", async () => {
    const user = await createUser({ role: "admin" });
    const items: Record<string, unknown>[] = Array.from({ length: 10 }, (_, i) => ({ ...valid, title: `Bulk ${i}`, recipient: `user${i}@example.test` }));
    items[3] = { ...valid, recipient_type: "telegram", recipient: "not a chat" };
    items[7] = { title: "No message", recipient_type: "email", recipient: "x@example.test" };
    const res = await api("POST", "/api/v1/notifications/bulk/", { token: user.token, body: { notifications: items } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ total: 10, queued: 8, failed: 2 });
    const errors = res.body.results.filter((r: any) => r.status === "error");
    expect(errors.map((r: any) => r.index)).toEqual([3, 7]);
    expect(errors[0].error).toMatch(/Telegram chat id/);
    expect(errors[1].error).toMatch(/message/);
    const queuedIds = res.body.results.filter((r: any) => r.status === "queued").map((r: any) => r.id);
    expect(queuedIds).toHaveLength(8);
    const { results } = await env.DB.prepare("SELECT id, status FROM notifications WHERE user_id = ?").bind(user.id).all<{ id: string; status: string }>();
    expect(results.map((r) => r.id).sort()).toEqual([...queuedIds].sort());
    for (const row of results) expect(["queued", "sent"]).toContain(row.status);
  });

  it("refuses more than 100 items and an empty list", async () => {
    const user = await createUser({ role: "admin" });
    const tooMany = await api("POST", "/api/v1/notifications/bulk/", { token: user.token, body: { notifications: Array(101).fill(valid) } });
    expect(tooMany.status).toBe(400);
    expect(tooMany.body.error).toMatch(/at most 100/);
    expect((await api("POST", "/api/v1/notifications/bulk/", { token: user.token, body: { notifications: [] } })).status).toBe(400);
  });

  it("queues a full batch of 100 (to 100 recipients, so no daily cap holds one back)", async () => {
    const user = await createUser({ role: "admin" });
    const items = Array.from({ length: 100 }, (_, i) => ({ ...valid, recipient: `full-${user.id}-${i}@example.test` }));
    const res = await api("POST", "/api/v1/notifications/bulk/", { token: user.token, body: { notifications: items } });
    expect(res.body).toMatchObject({ total: 100, queued: 100, pending: 0, skipped: 0, failed: 0 });
    expect(res.body.results.every((r: { status: string }) => r.status === "queued")).toBe(true);
  });

  it("items to one recipient past the day's cap are answered skipped, not queued, and counted so", async () => {
    const user = await createUser({ role: "admin" });
    const recipient = `capped-${user.id}@example.test`;
    const res = await api("POST", "/api/v1/notifications/bulk/", { token: user.token, body: { notifications: Array(25).fill({ ...valid, recipient }) } });
    expect(res.body).toMatchObject({ total: 25, queued: 20, pending: 0, skipped: 5, failed: 0 });
    const answered = new Map(res.body.results.map((r: { id: string; status: string }) => [r.id, r.status]));
    const { results: rows } = await env.DB.prepare("SELECT id, status FROM notifications WHERE user_id = ?").bind(user.id).all<{ id: string; status: string }>();
    expect(rows).toHaveLength(25);
    // What each item says is what its row was written as (queued ones may already be sent by the consumer).
    for (const row of rows) expect(row.status === "skipped" ? "skipped" : "queued").toBe(answered.get(row.id));
  });
});

describe("history, detail and stats", () => {
  it("lists only the caller's, newest first, filtered by status and channel", async () => {
    const user = await createUser();
    const other = await createUser();
    const a = await insertNotification({ userId: user.id, channel: "email", status: "sent" });
    const b = await insertNotification({ userId: user.id, channel: "telegram", recipient: "1", status: "failed" });
    await insertNotification({ userId: other.id, status: "sent" });

    const all = await api("GET", "/api/v1/notifications/", { token: user.token });
    expect(all.status).toBe(200);
    expect(all.body.count).toBe(2);
    expect(all.body.results.map((n: any) => n.id)).toEqual([b, a]);
    const sent = await api("GET", "/api/v1/notifications/?status=sent", { token: user.token });
    expect(sent.body.results.map((n: any) => n.id)).toEqual([a]);
    const telegram = await api("GET", "/api/v1/notifications/?recipient_type=telegram", { token: user.token });
    expect(telegram.body.results.map((n: any) => n.id)).toEqual([b]);
    const byChannel = await api("GET", "/api/v1/notifications/?channel=email&page_size=1", { token: user.token });
    expect(byChannel.body).toMatchObject({ count: 1, next: null, previous: null });
  });

  it("nobody reads another user's notification (404); an admin can", async () => {
    const owner = await createUser();
    const stranger = await createUser();
    const admin = await createUser({ role: "admin" });
    const id = await insertNotification({ userId: owner.id });
    expect((await api("GET", `/api/v1/notifications/${id}/`, { token: owner.token })).body).toMatchObject({ id, status: "queued", attempts: 0 });
    const denied = await api("GET", `/api/v1/notifications/${id}/`, { token: stranger.token });
    expect(denied.status).toBe(404);
    expect(denied.body.code).toBe("NOT_FOUND");
    expect((await api("GET", `/api/v1/notifications/${id}/`, { token: admin.token })).status).toBe(200);
    expect((await api("GET", "/api/v1/notifications/?scope=all", { token: stranger.token })).status).toBe(403);
  });

  it("stats count by status, channel and priority, with the success rate", async () => {
    const user = await createUser();
    for (const [status, channel, priority] of [
      ["sent", "email", "normal"],
      ["sent", "email", "high"],
      ["sent", "telegram", "normal"],
      ["failed", "whatsapp", "urgent"],
      ["skipped", "email", "low"],
      ["queued", "email", "normal"],
    ])
      await insertNotification({ userId: user.id, status, channel, priority, recipient: "x" });
    const res = await api("GET", "/api/v1/notifications/stats/", { token: user.token });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      total: 6,
      by_status: { pending: 0, queued: 1, sent: 3, failed: 1, skipped: 1 },
      by_channel: { email: 4, telegram: 1, whatsapp: 1 },
      by_priority: { low: 1, normal: 3, high: 1, urgent: 1 },
      success_rate: 75,
    });
  });

  it("stats match what was actually delivered, and are 0 when nothing finished", async () => {
    const user = await createUser({ role: "admin" });
    const empty = await api("GET", "/api/v1/notifications/stats/", { token: user.token });
    expect(empty.body).toMatchObject({ total: 0, success_rate: 0 });

    const ids: string[] = [];
    // Fresh recipients: the one of `valid` has had its day's messages from the other tests of this file.
    for (let i = 0; i < 3; i++) ids.push((await send(user.token, { ...valid, recipient: `stat${i}-${user.id}@example.test`, title: `Stat ${i}` })).body.id);
    await deliverNotifications(ids);
    const res = await api("GET", "/api/v1/notifications/stats/", { token: user.token });
    expect(res.body.by_status.sent).toBe(3);
    expect(res.body.total).toBe(3);
    expect(res.body.success_rate).toBe(100);
  });

  it("an admin sees everyone's stats with scope=all; a user may not", async () => {
    const admin = await createUser({ role: "admin" });
    const user = await createUser();
    await insertNotification({ userId: user.id, status: "sent" });
    const all = await api("GET", "/api/v1/notifications/stats/?scope=all", { token: admin.token });
    const { n } = (await env.DB.prepare("SELECT COUNT(*) AS n FROM notifications").first<{ n: number }>())!;
    expect(all.body.total).toBe(n);
    expect((await api("GET", "/api/v1/notifications/stats/?scope=all", { token: user.token })).status).toBe(403);
  });
});
