import { createScheduledController } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import worker from "../../../src/index";
import { CRON } from "../../../src/cron/schedules";
import type { Env } from "../../../src/env";
import { outbound } from "../../helpers/outbound";
import { recordingQueue } from "../../faults/helpers";
import { CREDENTIALS, customerWith, deliverNotifications, insertNotification, notificationRow } from "./helpers";

const RESEND = "https://api.resend.com/emails";

describe("at-least-once delivery sends once", () => {
  it("the same queue message delivered twice calls the provider once", async () => {
    outbound.on(RESEND, { id: "re_once" });
    const id = await insertNotification();
    const first = await deliverNotifications([id], { overrides: CREDENTIALS });
    const again = await deliverNotifications([id], { overrides: CREDENTIALS });
    expect(first.acked + again.acked).toBe(2);
    expect(outbound.requestsTo(RESEND)).toHaveLength(1);
    expect(await notificationRow(id)).toMatchObject({ status: "sent", attempts: 1 });
  });

  it("two copies in one batch call the provider once", async () => {
    outbound.on(RESEND, { id: "re_batch" });
    const id = await insertNotification();
    await deliverNotifications([id, id], { overrides: CREDENTIALS });
    expect(outbound.requestsTo(RESEND)).toHaveLength(1);
  });

  it("concurrent deliveries of one notification call the provider once; the loser looks again later", async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    outbound.on(RESEND, async () => {
      await gate;
      return Response.json({ id: "re_concurrent" });
    });
    const id = await insertNotification();
    let settled = 0;
    const runs = Array.from({ length: 5 }, () => deliverNotifications([id], { overrides: CREDENTIALS }).finally(() => settled++));
    // The provider holds its answer until the four other deliveries have found the row claimed.
    const deadline = Date.now() + 10_000;
    while (settled < 4 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    release();
    expect(settled).toBe(4);
    const outcomes = await Promise.all(runs);
    expect(outbound.requestsTo(RESEND)).toHaveLength(1);
    expect(outcomes.reduce((n, o) => n + o.acked, 0)).toBe(1);
    expect(outcomes.flatMap((o) => o.retried)).toEqual(Array(4).fill({ delaySeconds: 60 }));
    expect(await notificationRow(id)).toMatchObject({ status: "sent", attempts: 1 });
  });

  it("a lapsed lease (the delivering worker died) lets a redelivery send", async () => {
    outbound.on(RESEND, { id: "re_after_crash" });
    const id = await insertNotification();
    await env.DB.prepare("UPDATE notifications SET lease_until = ?, attempts = 1 WHERE id = ?").bind(new Date(Date.now() - 1000).toISOString(), id).run();
    await deliverNotifications([id], { overrides: CREDENTIALS, attempts: 2 });
    expect(await notificationRow(id)).toMatchObject({ status: "sent", attempts: 2 });
  });
});

describe("scheduled notifications", () => {
  it("a message that arrives early is put back until its time, without sending", async () => {
    const at = new Date(Date.now() + 3600_000).toISOString();
    const id = await insertNotification({ scheduledAt: at });
    const result = await deliverNotifications([id]);
    expect(result.retried).toHaveLength(1);
    expect(result.retried[0]!.delaySeconds).toBeGreaterThan(3500);
    expect(result.retried[0]!.delaySeconds).toBeLessThanOrEqual(3600);
    expect(await notificationRow(id)).toMatchObject({ status: "queued", attempts: 0 });
  });

  it("the cron enqueues pending notifications due within 12 hours, once across two runs", async () => {
    const soon = await insertNotification({ status: "pending", scheduledAt: new Date(Date.now() + 2 * 3600_000).toISOString() });
    const later = await insertNotification({ status: "pending", scheduledAt: new Date(Date.now() + 5 * 86400_000).toISOString() });
    const queue = recordingQueue<{ notification_id: string }>();
    const testEnv = { ...env, NOTIFICATIONS: queue } as unknown as Env;
    const controller = createScheduledController({ cron: CRON.frequent, scheduledTime: new Date() });
    await worker.scheduled(controller, testEnv);
    await worker.scheduled(controller, testEnv);

    const mine = queue.messages.filter((m) => m.body.notification_id === soon);
    expect(mine).toHaveLength(1);
    expect(mine[0]!.delaySeconds).toBeGreaterThan(7000);
    expect(queue.sent.some((m) => m.notification_id === later)).toBe(false);
    expect((await notificationRow(soon)).status).toBe("queued");
    expect((await notificationRow(later)).status).toBe("pending");
  });

  it("the cron sends again a queued row no delivery touched for 15 minutes (its request died before the queue send), once", async () => {
    const minutesAgo = (m: number) => new Date(Date.now() - m * 60_000).toISOString();
    const lost = await insertNotification({ status: "queued" });
    const young = await insertNotification({ status: "queued" });
    const attempted = await insertNotification({ status: "queued" });
    const dueLater = await insertNotification({ status: "queued", scheduledAt: minutesAgo(5) });
    for (const id of [lost, attempted, dueLater]) await env.DB.prepare("UPDATE notifications SET updated_at = ? WHERE id = ?").bind(minutesAgo(16), id).run();
    await env.DB.prepare("UPDATE notifications SET attempts = 1 WHERE id = ?").bind(attempted).run();
    const queue = recordingQueue<{ notification_id: string }>();
    const controller = createScheduledController({ cron: CRON.frequent, scheduledTime: new Date() });
    await worker.scheduled(controller, { ...env, NOTIFICATIONS: queue } as unknown as Env);
    await worker.scheduled(controller, { ...env, NOTIFICATIONS: queue } as unknown as Env);

    const mine = queue.sent.map((m) => m.notification_id).filter((id) => [lost, young, attempted, dueLater].includes(id));
    expect(mine).toEqual([lost]);
    expect(await notificationRow(lost)).toMatchObject({ status: "queued", attempts: 0 });
    // Sent once: it counts as queued from now, so the next sweep leaves it to the queue.
    const { updated_at } = (await env.DB.prepare("SELECT updated_at FROM notifications WHERE id = ?").bind(lost).first<{ updated_at: string }>())!;
    expect(updated_at > minutesAgo(1)).toBe(true);
  });

  it("a failed queue send leaves the rows pending for the next run", async () => {
    const id = await insertNotification({ status: "pending", scheduledAt: new Date(Date.now() + 60_000).toISOString() });
    const queue = recordingQueue();
    queue.failing = true;
    await worker.scheduled(createScheduledController({ cron: CRON.frequent, scheduledTime: new Date() }), { ...env, NOTIFICATIONS: queue } as unknown as Env);
    expect((await notificationRow(id)).status).toBe("pending");
  });
});

describe("customer preferences at delivery time", () => {
  it("telegram turned off: a telegram order update is skipped with the reason", async () => {
    const customerId = await customerWith({ telegram_enabled: 0 });
    const id = await insertNotification({ customerId, channel: "telegram", recipient: "12345", category: "order_update" });
    const result = await deliverNotifications([id]);
    expect(result.acked).toBe(1);
    expect(await notificationRow(id)).toMatchObject({ status: "skipped", attempts: 0, last_error: "Skipped: the customer turned off telegram notifications." });
  });

  it("promotional messages need an opt-in; order updates can be turned off", async () => {
    const defaults = await customerWith({});
    const promo = await insertNotification({ customerId: defaults, category: "promotional" });
    const noUpdates = await customerWith({ order_updates: 0 });
    const update = await insertNotification({ customerId: noUpdates, category: "order_update" });
    await deliverNotifications([promo, update]);
    expect((await notificationRow(promo)).status).toBe("skipped");
    expect(await notificationRow(update)).toMatchObject({ status: "skipped", last_error: "Skipped: the customer turned off order updates." });
  });

  it("an urgent transactional message is sent even on a channel the customer turned off", async () => {
    const customerId = await customerWith({ email_enabled: 0 });
    const urgent = await insertNotification({ customerId, priority: "urgent", category: "transactional" });
    const high = await insertNotification({ customerId, priority: "high", category: "transactional" });
    await deliverNotifications([urgent, high]);
    expect((await notificationRow(urgent)).status).toBe("sent");
    expect((await notificationRow(high)).status).toBe("skipped");
  });
});
