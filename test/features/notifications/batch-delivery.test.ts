// The notification consumer works a queue batch as a whole: one claim for all its rows, one
// preferences read, the providers side by side, one D1 batch of outcomes, one live-status call
// per user. Each message still gets its own row's ack or retry, and each row is sent once.
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import type { Env } from "../../../src/env";
import type { UserEvent } from "../../../src/features/events/events.schemas";
import { LEASE_SECONDS } from "../../../src/features/notifications/notifications.consumer";
import { outbound } from "../../helpers/outbound";
import { roundTripDb } from "../../helpers/worker-env";
import { quietly } from "../../faults/helpers";
import { createUser } from "../../helpers/factories";
import { CREDENTIALS, customerWith, deliverNotifications, insertNotification, notificationRow } from "./helpers";

const RESEND = "https://api.resend.com/emails";
const TELEGRAM = `https://api.telegram.org/bot${CREDENTIALS.TELEGRAM_BOT_TOKEN}/sendMessage`;
const WHATSAPP = `https://graph.facebook.com/v21.0/${CREDENTIALS.WHATSAPP_PHONE_NUMBER_ID}/messages`;

const recipientsOf = (requests: { body: string }[]) => requests.map((r) => (JSON.parse(r.body) as { to: string[] }).to[0]).sort();
const inFuture = (seconds: number) => new Date(Date.now() + seconds * 1000).toISOString();

afterEach(async () => {
  await env.DB.prepare("DROP TRIGGER IF EXISTS fault_notification_sent").run();
});

describe("one batch, each message its own outcome", () => {
  it("due, not due, already sent, leased elsewhere, opted out, refused and throttled: each gets its ack or retry and its row state", async () => {
    outbound.on(RESEND, { id: "re_due" });
    outbound.on(TELEGRAM, Response.json({ ok: false, description: "Too Many Requests: retry after 30", parameters: { retry_after: 30 } }, { status: 429 }));
    outbound.on(WHATSAPP, Response.json({ error: { message: "Invalid parameter" } }, { status: 400 }));
    const optedOutCustomer = await customerWith({ email_enabled: 0 });

    const due = await insertNotification({ recipient: "due@example.test" });
    const notDue = await insertNotification({ recipient: "later@example.test", scheduledAt: inFuture(3600) });
    const alreadySent = await insertNotification({ recipient: "done@example.test", status: "sent" });
    const leased = await insertNotification({ recipient: "leased@example.test" });
    await env.DB.prepare("UPDATE notifications SET attempts = 1, lease_until = ? WHERE id = ?").bind(inFuture(30), leased).run();
    const optedOut = await insertNotification({ recipient: "opted-out@example.test", customerId: optedOutCustomer, category: "order_update" });
    const throttled = await insertNotification({ channel: "telegram", recipient: "4242" });
    const refused = await insertNotification({ channel: "whatsapp", recipient: "+14155550123" });

    const ids = [due, notDue, alreadySent, leased, optedOut, throttled, refused];
    const outcome = await deliverNotifications(ids, { overrides: CREDENTIALS });

    const [, notDueRetry] = outcome.each;
    expect(outcome.each).toEqual(["ack", expect.anything(), "ack", { retry: LEASE_SECONDS }, "ack", { retry: 30 }, "ack"]);
    const notDueDelay = (notDueRetry as { retry: number }).retry;
    expect(notDueDelay).toBeGreaterThan(3590);
    expect(notDueDelay).toBeLessThanOrEqual(3600);

    expect(await notificationRow(due)).toMatchObject({ status: "sent", attempts: 1, provider_message_id: "re_due", lease_until: null });
    expect(await notificationRow(notDue)).toMatchObject({ status: "queued", attempts: 0, lease_until: null });
    expect(await notificationRow(alreadySent)).toMatchObject({ status: "sent", attempts: 0 });
    expect(await notificationRow(leased)).toMatchObject({ status: "queued", attempts: 1 });
    expect(await notificationRow(optedOut)).toMatchObject({ status: "skipped", attempts: 0, last_error: "Skipped: the customer turned off email notifications.", lease_until: null });
    expect(await notificationRow(throttled)).toMatchObject({ status: "queued", attempts: 1, last_error: "Telegram answered 429: Too Many Requests: retry after 30", lease_until: null });
    expect(await notificationRow(refused)).toMatchObject({ status: "failed", attempts: 1, last_error: "WhatsApp answered 400: Invalid parameter", lease_until: null });

    // Only the claimed rows that may be sent reached a provider, each once.
    expect(recipientsOf(outbound.requestsTo(RESEND))).toEqual(["due@example.test"]);
    expect(outbound.requestsTo(TELEGRAM)).toHaveLength(1);
    expect(outbound.requestsTo(WHATSAPP)).toHaveLength(1);
  });

  it("a retryable failure backs off by the message's attempts when that is longer than the provider's Retry-After", async () => {
    outbound.on(RESEND, Response.json({ message: "Slow down" }, { status: 429, headers: { "retry-after": "3" } }));
    const [a, b] = [await insertNotification(), await insertNotification()];
    const outcome = await deliverNotifications([a, b], { overrides: CREDENTIALS, attempts: 4 });
    expect(outcome.each).toEqual([{ retry: 16 }, { retry: 16 }]);
  });

  it("five deliveries are two D1 round trips: the claim of all five, then one batch of every outcome", async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push(await insertNotification({ recipient: `five-${i}@example.test` }));
    const { db, trips } = roundTripDb();
    const outcome = await deliverNotifications(ids, { overrides: { DB: db } });

    expect(outcome.each).toEqual(Array(5).fill("ack"));
    expect(trips.map((t) => t.kind)).toEqual(["query", "batch"]);
    expect(trips[0]!.sql[0]).toMatch(/^UPDATE notifications SET attempts = attempts \+ 1/);
    // The sandbox's record and the "sent" update of each row.
    expect(trips[1]!.sql).toHaveLength(10);
    for (const id of ids) expect(await notificationRow(id)).toMatchObject({ status: "sent", attempts: 1, provider_message_id: `sandbox-${id}` });
  });

  it("the customers' preferences of a batch are one read, after the claim", async () => {
    const off = await customerWith({ whatsapp_enabled: 0 });
    const on = await customerWith({});
    const skipped = await insertNotification({ customerId: off, channel: "whatsapp", recipient: "+14155550100", category: "order_update" });
    const sent = await insertNotification({ customerId: on, recipient: "on@example.test", category: "order_update" });
    const system = await insertNotification({ recipient: "system@example.test" });
    const { db, trips } = roundTripDb();
    const outcome = await deliverNotifications([skipped, sent, system], { overrides: { DB: db } });

    expect(outcome.each).toEqual(["ack", "ack", "ack"]);
    expect(trips.map((t) => t.kind)).toEqual(["query", "query", "batch"]);
    expect(trips[1]!.sql[0]).toMatch(/notification_preferences/);
    expect((await notificationRow(skipped)).status).toBe("skipped");
    expect((await notificationRow(sent)).status).toBe("sent");
    expect((await notificationRow(system)).status).toBe("sent");
  });

  it("an outcome D1 refuses does not undo the others: that message is retried with backoff, its row left claimed; the rest are sent and acked", async () => {
    const [first, refusedWrite, last] = [await insertNotification(), await insertNotification(), await insertNotification()];
    await env.DB.prepare(
      `CREATE TRIGGER fault_notification_sent BEFORE UPDATE ON notifications WHEN NEW.id = '${refusedWrite}' AND NEW.status = 'sent' BEGIN SELECT RAISE(ABORT, 'fault_injected'); END`,
    ).run();
    const { result: outcome, logs } = await quietly(() => deliverNotifications([first, refusedWrite, last], { attempts: 2 }));

    expect(outcome.each).toEqual(["ack", { retry: 4 }, "ack"]);
    expect(logs.some((line) => line.includes("notification outcome not recorded") && line.includes(refusedWrite))).toBe(true);
    expect((await notificationRow(first)).status).toBe("sent");
    expect((await notificationRow(last)).status).toBe("sent");
    const stuck = await notificationRow(refusedWrite);
    expect(stuck).toMatchObject({ status: "queued", attempts: 1 });
    expect(stuck.lease_until! > new Date().toISOString()).toBe(true);
    const recorded = await env.DB.prepare("SELECT COUNT(*) AS n FROM notification_outbox WHERE notification_id = ?").bind(refusedWrite).first<number>("n");
    expect(recorded).toBe(0);
  });

  it("a provider that throws (its answer's body breaks off): that message is retried with backoff, the others are sent", async () => {
    outbound.on(RESEND, (request) =>
      JSON.parse(request.body).to[0] === "broken@example.test"
        ? new Response(new ReadableStream({ start: (controller) => controller.error(new Error("connection reset")) }), { status: 200 })
        : Response.json({ id: "re_fine" }),
    );
    const fine = await insertNotification({ recipient: "fine@example.test" });
    const broken = await insertNotification({ recipient: "broken@example.test" });
    const { result: outcome } = await quietly(() => deliverNotifications([fine, broken], { overrides: CREDENTIALS }));

    expect(outcome.each).toEqual(["ack", { retry: 2 }]);
    expect(await notificationRow(fine)).toMatchObject({ status: "sent", provider_message_id: "re_fine" });
    expect(await notificationRow(broken)).toMatchObject({ status: "queued", attempts: 1 });
  });
});

describe("at least once, sent once", () => {
  it("two copies of one batch running at once send each message exactly once; the copy that found them claimed looks again after the lease", async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    outbound.on(RESEND, async (request) => {
      await gate;
      return Response.json({ id: `re_${JSON.parse(request.body).to[0]}` });
    });
    const recipients = ["one@example.test", "two@example.test", "three@example.test", "four@example.test"];
    const ids: string[] = [];
    for (const recipient of recipients) ids.push(await insertNotification({ recipient }));

    let settled = 0;
    const runs = [0, 1].map(() => deliverNotifications(ids, { overrides: CREDENTIALS }).finally(() => settled++));
    // The winner's provider calls wait until the other copy has found every row claimed.
    const deadline = Date.now() + 10_000;
    while (settled < 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    release();
    expect(settled).toBe(1);
    const outcomes = await Promise.all(runs);

    expect(recipientsOf(outbound.requestsTo(RESEND))).toEqual([...recipients].sort());
    const eachRun = outcomes.map((o) => o.each);
    expect(eachRun).toContainEqual(Array(4).fill("ack"));
    expect(eachRun).toContainEqual(Array(4).fill({ retry: LEASE_SECONDS }));
    for (const id of ids) expect(await notificationRow(id)).toMatchObject({ status: "sent", attempts: 1 });
  });

  it("two copies of a message in one batch: one provider call, both messages acked", async () => {
    outbound.on(RESEND, { id: "re_twice" });
    const id = await insertNotification();
    const other = await insertNotification({ recipient: "other@example.test" });
    const outcome = await deliverNotifications([id, other, id], { overrides: CREDENTIALS });
    expect(outcome.each).toEqual(["ack", "ack", "ack"]);
    expect(outbound.requestsTo(RESEND)).toHaveLength(2);
    expect(await notificationRow(id)).toMatchObject({ status: "sent", attempts: 1 });
  });
});

describe("live status", () => {
  it("one publish per user per batch, carrying each of that user's outcomes; rows without a user publish nothing", async () => {
    const [alice, bob] = [await createUser(), await createUser()];
    const calls: { name: string; events: UserEvent[] }[] = [];
    const USER_EVENTS = { idFromName: (name: string) => name, get: (name: string) => ({ publish: async (events: UserEvent[]) => (calls.push({ name, events }), 1) }) };
    const optedOut = await customerWith({ email_enabled: 0 });
    const aliceSent = await insertNotification({ userId: alice.id });
    const aliceSkipped = await insertNotification({ userId: alice.id, customerId: optedOut, category: "order_update" });
    const bobSent = await insertNotification({ userId: bob.id });
    const systemSent = await insertNotification({ userId: null });
    await deliverNotifications([aliceSent, bobSent, aliceSkipped, systemSent], { overrides: { USER_EVENTS } as unknown as Partial<Env> });

    const byUser = Object.fromEntries(calls.map((c) => [c.name, c.events.map((e) => [e.type === "notification.status" ? e.notification_id : "", e.status])]));
    expect(calls).toHaveLength(2);
    expect(byUser).toEqual({
      [`user:${alice.id}`]: [
        [aliceSent, "sent"],
        [aliceSkipped, "skipped"],
      ],
      [`user:${bob.id}`]: [[bobSent, "sent"]],
    });
  });
});
