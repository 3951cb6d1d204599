import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { outbound } from "../../helpers/outbound";
import { interceptD1, roundTripDb } from "../../helpers/worker-env";
import { quietly } from "../../faults/helpers";
import { QueueName } from "../../../src/queues/messages";
import { CREDENTIALS, deliverNotifications, insertNotification, notificationRow } from "./helpers";

const RESEND = "https://api.resend.com/emails";
const TELEGRAM = `https://api.telegram.org/bot${CREDENTIALS.TELEGRAM_BOT_TOKEN}/sendMessage`;
const WHATSAPP = `https://graph.facebook.com/v21.0/${CREDENTIALS.WHATSAPP_PHONE_NUMBER_ID}/messages`;

describe("providers receive exactly the documented request", () => {
  it("email goes to Resend with the API key and from/to/subject/text", async () => {
    outbound.on(RESEND, { id: "re_msg_1" });
    const id = await insertNotification({ channel: "email", recipient: "jane@example.test", title: "Order shipped", message: "On its way." });
    const result = await deliverNotifications([id], { overrides: CREDENTIALS });

    expect(result.acked).toBe(1);
    expect(outbound.requests).toHaveLength(1);
    const request = outbound.requests[0]!;
    expect(request.method).toBe("POST");
    expect(request.url).toBe(RESEND);
    expect(request.headers.authorization).toBe(`Bearer ${CREDENTIALS.RESEND_API_KEY}`);
    expect(request.headers["content-type"]).toBe("application/json");
    expect(JSON.parse(request.body)).toEqual({ from: CREDENTIALS.EMAIL_FROM, to: ["jane@example.test"], subject: "Order shipped", text: "On its way." });
    expect(await notificationRow(id)).toMatchObject({ status: "sent", attempts: 1, provider_message_id: "re_msg_1", last_error: null });
    expect((await notificationRow(id)).sent_at).not.toBeNull();
  });

  it("Telegram gets sendMessage with chat_id and text, the token only in the URL", async () => {
    outbound.on(TELEGRAM, { ok: true, result: { message_id: 42 } });
    const id = await insertNotification({ channel: "telegram", recipient: "123456789", title: "Hi", message: "There" });
    await deliverNotifications([id], { overrides: CREDENTIALS });

    const request = outbound.requests[0]!;
    expect(request.url).toBe(TELEGRAM);
    expect(request.headers.authorization).toBeUndefined();
    expect(JSON.parse(request.body)).toEqual({ chat_id: "123456789", text: "Hi\n\nThere" });
    expect(await notificationRow(id)).toMatchObject({ status: "sent", provider_message_id: "42" });
  });

  it("WhatsApp gets a Cloud API text message to the number without its +", async () => {
    outbound.on(WHATSAPP, { messaging_product: "whatsapp", messages: [{ id: "wamid.ABC" }] });
    const id = await insertNotification({ channel: "whatsapp", recipient: "+919876543210", title: "Gift", message: "A card for you" });
    await deliverNotifications([id], { overrides: CREDENTIALS });

    const request = outbound.requests[0]!;
    expect(request.url).toBe(WHATSAPP);
    expect(request.headers.authorization).toBe(`Bearer ${CREDENTIALS.WHATSAPP_ACCESS_TOKEN}`);
    expect(JSON.parse(request.body)).toEqual({
      messaging_product: "whatsapp",
      to: "919876543210",
      type: "text",
      text: { body: "Gift\n\nA card for you" },
    });
    expect(await notificationRow(id)).toMatchObject({ status: "sent", provider_message_id: "wamid.ABC" });
  });

  it("without credentials the sandbox records the message and marks it sent, with no HTTP", async () => {
    const id = await insertNotification({ channel: "telegram", recipient: "555", title: "Sandboxed", message: "Only recorded" });
    await deliverNotifications([id]);
    expect(outbound.requests).toHaveLength(0);
    expect(await notificationRow(id)).toMatchObject({ status: "sent", attempts: 1, provider_message_id: `sandbox-${id}` });
    const recorded = await env.DB.prepare("SELECT channel, recipient, title, message FROM notification_outbox WHERE notification_id = ?").bind(id).first();
    expect(recorded).toEqual({ channel: "telegram", recipient: "555", title: "Sandboxed", message: "Only recorded" });
  });

  it("the sandbox's record and the sent status are one batch: a delivery is two round trips, the claim and that batch", async () => {
    const id = await insertNotification({ channel: "email", recipient: "someone@example.test" });
    const { db, trips } = roundTripDb();
    await deliverNotifications([id], { overrides: { DB: db } });
    expect(trips.map((t) => t.kind)).toEqual(["query", "batch"]);
    expect(trips[0]!.sql[0]).toMatch(/^UPDATE notifications SET attempts = attempts \+ 1/);
    expect(trips[1]!.sql.map((sql) => sql.trim().split(/\s+/).slice(0, 3).join(" "))).toEqual(["INSERT INTO notification_outbox", "UPDATE notifications SET"]);
    expect(await notificationRow(id)).toMatchObject({ status: "sent", provider_message_id: `sandbox-${id}` });
  });

  it("a sandbox delivery whose batch fails records nothing and is not sent; its redelivery records it once and sends", async () => {
    const id = await insertNotification({ channel: "email", recipient: "someone@example.test" });
    const failingDb = interceptD1(env.DB, (_target, property) =>
      property === "batch" ? async () => Promise.reject(new Error("D1_ERROR: injected: the database is unavailable")) : undefined,
    );
    const { result: failed } = await quietly(() => deliverNotifications([id], { overrides: { DB: failingDb } }));
    expect(failed.acked).toBe(0);
    expect(failed.retried).toHaveLength(1);
    const outboxRows = () => env.DB.prepare("SELECT COUNT(*) AS n FROM notification_outbox WHERE notification_id = ?").bind(id).first<number>("n");
    expect(await outboxRows()).toBe(0);
    expect(await notificationRow(id)).toMatchObject({ status: "queued", attempts: 1 });

    // The failed delivery's lease runs out; the redelivery takes it over.
    await env.DB.prepare("UPDATE notifications SET lease_until = ? WHERE id = ?").bind(new Date(Date.now() - 1000).toISOString(), id).run();
    expect((await deliverNotifications([id], { attempts: 2 })).acked).toBe(1);
    expect(await outboxRows()).toBe(1);
    expect(await notificationRow(id)).toMatchObject({ status: "sent", attempts: 2, provider_message_id: `sandbox-${id}`, lease_until: null });
  });
});

describe("outcomes", () => {
  it("500 then 200 ends sent after two attempts, the first retried with backoff", async () => {
    outbound.sequence(RESEND, [() => Response.json({ message: "Internal error" }, { status: 500 }), () => Response.json({ id: "re_2" })]);
    const id = await insertNotification();

    const first = await deliverNotifications([id], { overrides: CREDENTIALS, attempts: 1 });
    expect(first.retried).toEqual([{ delaySeconds: 2 }]);
    expect(await notificationRow(id)).toMatchObject({ status: "queued", attempts: 1, last_error: "The email provider answered 500: Internal error", lease_until: null });

    const second = await deliverNotifications([id], { overrides: CREDENTIALS, attempts: 2 });
    expect(second.acked).toBe(1);
    expect(await notificationRow(id)).toMatchObject({ status: "sent", attempts: 2, last_error: null, provider_message_id: "re_2" });
    expect(outbound.requests).toHaveLength(2);
  });

  it("429 is retried, using the provider's retry_after when it is longer than the backoff", async () => {
    outbound.on(TELEGRAM, Response.json({ ok: false, description: "Too Many Requests: retry after 30", parameters: { retry_after: 30 } }, { status: 429 }));
    const id = await insertNotification({ channel: "telegram", recipient: "123" });
    const result = await deliverNotifications([id], { overrides: CREDENTIALS });
    expect(result.retried[0]!.delaySeconds).toBe(30);
    expect((await notificationRow(id)).status).toBe("queued");
  });

  it("400 ends failed at once, acknowledged, with the provider's reason", async () => {
    outbound.on(WHATSAPP, Response.json({ error: { message: "Invalid parameter", code: 100 } }, { status: 400 }));
    const id = await insertNotification({ channel: "whatsapp", recipient: "+14155550123" });
    const result = await deliverNotifications([id], { overrides: CREDENTIALS });
    expect(result.acked).toBe(1);
    expect(result.retried).toEqual([]);
    expect(await notificationRow(id)).toMatchObject({ status: "failed", attempts: 1, last_error: "WhatsApp answered 400: Invalid parameter" });
  });

  it("a network error is retried", async () => {
    outbound.on(RESEND, () => {
      throw new TypeError("connection reset");
    });
    const id = await insertNotification();
    const result = await deliverNotifications([id], { overrides: CREDENTIALS, attempts: 3 });
    expect(result.retried[0]!.delaySeconds).toBe(8);
    expect(await notificationRow(id)).toMatchObject({ status: "queued", last_error: "The email provider could not be reached." });
  });

  it("never writes a provider secret into last_error", async () => {
    outbound.on(TELEGRAM, Response.json({ ok: false, description: `Unauthorized bot ${CREDENTIALS.TELEGRAM_BOT_TOKEN}` }, { status: 401 }));
    const id = await insertNotification({ channel: "telegram", recipient: "123" });
    await deliverNotifications([id], { overrides: CREDENTIALS });
    const row = await notificationRow(id);
    expect(row.status).toBe("failed");
    expect(row.last_error).toBe("Telegram answered 401: Unauthorized bot [redacted]");
  });

  it("retries exhausted: the dead-letter consumer marks it failed", async () => {
    const id = await insertNotification();
    const result = await deliverNotifications([id], { queue: QueueName.notificationsDeadLetter, attempts: 6 });
    expect(result.acked).toBe(1);
    expect(await notificationRow(id)).toMatchObject({ status: "failed", last_error: "retries exhausted" });
    expect(outbound.requests).toHaveLength(0);
  });

  it("the dead-letter consumer leaves a notification that was sent meanwhile alone", async () => {
    const id = await insertNotification();
    await deliverNotifications([id]);
    await deliverNotifications([id], { queue: QueueName.notificationsDeadLetter });
    expect((await notificationRow(id)).status).toBe("sent");
  });
});
