import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { Env } from "../../../src/env";
import { sendBulk, sendNotification } from "../../../src/features/notifications/notifications.service";
import { renderUserText } from "../../../src/lib/safe-text";
import { api } from "../../helpers/api";
import { createUser, unique } from "../../helpers/factories";
import { withinOneRateWindow } from "../../helpers/rate-window";
import { insertMerchant, insertPurchase, insertVoucher } from "../../helpers/voucher-factories";
import { postWithEnv, roundTripDb } from "../../helpers/worker-env";
import { recordingQueue } from "../../faults/helpers";

const send = (token: string, body: Record<string, unknown>, headers: Record<string, string> = {}) =>
  api("POST", "/api/v1/notifications/send", { token, body: { title: "Hello", message: "A message", ...body }, headers });
const stranger = () => `${unique("stranger")}@example.test`;
const row = (id: string) =>
  env.DB.prepare("SELECT status, last_error, message, category FROM notifications WHERE id = ?").bind(id).first<{ status: string; last_error: string | null; message: string; category: string }>();
const recipientCounterKey = (address: string) => `messages:recipient:email:${address.toLowerCase()}:${new Date().toISOString().slice(0, 10)}`;
const linkIn = (message: string) => /Stop these messages: (\S+)/.exec(message)?.[1];

describe("free text reaches strangers only through admins and scoped API keys", () => {
  it("refuses a plain user's message to someone else's address with a 403 that says why", async () => {
    const user = await createUser();
    const res = await send(user.token, { recipient_type: "email", recipient: stranger() });
    expect(res.status).toBe(403);
    expect(res.body.error).toMatch(/notifications:send/);
    const telegram = await send(user.token, { recipient_type: "telegram", recipient: "123456789" });
    expect(telegram.status).toBe(403);
  });

  it("lets a plain user message their own email and phone", async () => {
    const user = await createUser({ phone: "+14155550111" });
    const email = await send(user.token, { recipient_type: "email", recipient: user.email.toUpperCase() });
    expect(email.status).toBe(201);
    const phone = await send(user.token, { recipient_type: "whatsapp", recipient: "+1 415 555 0111" });
    expect(phone.status).toBe(201);
  });

  it("refuses a bulk request with any stranger in it, naming the items", async () => {
    const user = await createUser();
    const res = await api("POST", "/api/v1/notifications/bulk", {
      token: user.token,
      body: {
        notifications: [
          { title: "a", message: "b", recipient_type: "email", recipient: user.email },
          { title: "a", message: "b", recipient_type: "email", recipient: stranger() },
        ],
      },
    });
    expect(res.status).toBe(403);
    expect(res.body.details.refused_indexes).toEqual([1]);
    const rows = await env.DB.prepare("SELECT COUNT(*) AS n FROM notifications WHERE user_id = ?").bind(user.id).first<{ n: number }>();
    expect(rows!.n).toBe(0);
  });

  it("lets an admin, and a user with an API key scoped notifications:send, message anyone; an unscoped key does not", async () => {
    const admin = await createUser({ role: "admin" });
    expect((await send(admin.token, { recipient_type: "email", recipient: stranger() })).status).toBe(201);
    const scoped = await api("POST", "/api/v1/admin/api-keys", { token: admin.token, body: { name: "crm", scopes: ["notifications:send"] } });
    expect(scoped.status).toBe(201);
    expect(scoped.body.scopes).toEqual(["notifications:send"]);
    const plain = await api("POST", "/api/v1/admin/api-keys", { token: admin.token, body: { name: "app" } });
    const user = await createUser();
    expect((await send(user.token, { recipient_type: "email", recipient: stranger() }, { "x-api-key": scoped.body.key })).status).toBe(201);
    expect((await send(user.token, { recipient_type: "email", recipient: stranger() }, { "x-api-key": plain.body.key })).status).toBe(403);
  });

  it("lets only admins mark a send urgent or transactional", async () => {
    const user = await createUser();
    expect((await send(user.token, { recipient_type: "email", recipient: user.email, priority: "urgent" })).status).toBe(403);
    expect((await send(user.token, { recipient_type: "email", recipient: user.email, category: "transactional" })).status).toBe(403);
    const admin = await createUser({ role: "admin" });
    const ok = await send(admin.token, { recipient_type: "email", recipient: stranger(), category: "transactional" });
    expect(ok.status).toBe(201);
    expect(ok.body.category).toBe("transactional");
    expect(linkIn((await row(ok.body.id))!.message)).toBeUndefined();
  });
});

/**
 * The worker with a recording queue and a D1 binding that records each round trip. Trips for the
 * per-isolate "is this user active" check (cached after the first request) are left out.
 */
function recordedWorker(overrides: Partial<Env> = {}) {
  const { db, trips } = roundTripDb();
  const queue = recordingQueue<{ notification_id: string }>();
  const workerEnv = { ...env, DB: db, NOTIFICATIONS: queue, ...overrides } as unknown as Env;
  const post = (path: string, token: string, body: unknown, headers: Record<string, string> = {}) => postWithEnv(workerEnv, path, { token, body, headers });
  return {
    queue,
    trips: () => trips.filter((t) => !t.sql[0]!.startsWith("SELECT is_active")),
    send: (token: string, body: Record<string, unknown>, headers?: Record<string, string>) =>
      post("/api/v1/notifications/send/", token, { title: "Hello", message: "A message", ...body }, headers),
    bulk: (token: string, items: Record<string, unknown>[]) =>
      post("/api/v1/notifications/bulk/", token, { notifications: items.map((item) => ({ title: "a", message: "b", ...item })) }),
  };
}

const written = (userId: number) => env.DB.prepare("SELECT COUNT(*) AS n FROM notifications WHERE user_id = ?").bind(userId).first<number>("n");
const senderCount = (userId: number) => env.DB.prepare("SELECT count FROM rate_counters WHERE key = ?").bind(`messages:sender:${userId}`).first<number>("count");

describe("a plain user's send: the own-contact rule inside the one write batch", () => {
  it("a send to their own email is one D1 round trip, the batch, and is written and queued", async () => {
    const user = await createUser();
    const worker = recordedWorker();
    const res = await worker.send(user.token, { recipient_type: "email", recipient: user.email });
    expect(res.status).toBe(201);
    expect(worker.trips().map((t) => t.kind)).toEqual(["batch"]);
    expect(worker.queue.sent.map((m) => m.notification_id)).toEqual([res.body.id]);
    expect(await senderCount(user.id)).toBe(1);
  });

  it("a bulk request to their own contacts is one round trip too", async () => {
    const user = await createUser({ phone: "+14155550177" });
    const worker = recordedWorker();
    const res = await worker.bulk(user.token, [
      { recipient_type: "email", recipient: user.email },
      { recipient_type: "whatsapp", recipient: "+1 (415) 555-0177" },
      { recipient_type: "email", recipient: user.email.toUpperCase() },
    ]);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ queued: 3, failed: 0 });
    expect(worker.trips().map((t) => t.kind)).toEqual(["batch"]);
    expect(await written(user.id)).toBe(3);
  });

  it("a stranger's email, phone or chat is refused with the 403 that says why, and nothing is written, counted or queued", async () => {
    const user = await createUser({ phone: "+14155550178" });
    const worker = recordedWorker();
    for (const stranger of [
      { recipient_type: "email", recipient: `${unique("stranger")}@example.test` },
      { recipient_type: "whatsapp", recipient: "+14155550179" },
      { recipient_type: "telegram", recipient: "123456789" },
    ]) {
      const res = await worker.send(user.token, stranger);
      expect(res.status).toBe(403);
      expect(res.body).toMatchObject({ code: "FORBIDDEN", error: expect.stringMatching(/own email address or phone number.*notifications:send/) });
    }
    // Each refusal took one round trip: the batch, which also said why.
    expect(worker.trips().map((t) => t.kind)).toEqual(["batch", "batch", "batch"]);
    expect(await written(user.id)).toBe(0);
    expect(await senderCount(user.id)).toBeNull();
    expect(worker.queue.sent).toEqual([]);
  });

  it("accepts any letter case of their own email", async () => {
    const user = await createUser();
    const [name, domain] = user.email.split("@");
    const worker = recordedWorker();
    for (const recipient of [user.email.toUpperCase(), `${name}@${domain!.toUpperCase()}`, `${name!.charAt(0).toUpperCase()}${name!.slice(1)}@${domain}`]) {
      expect((await worker.send(user.token, { recipient_type: "email", recipient })).status).toBe(201);
    }
    expect(await written(user.id)).toBe(3);
  });

  it("after the profile's email or phone changes, the old one is a stranger and the new one is their own", async () => {
    const user = await createUser({ phone: "+14155550180" });
    const worker = recordedWorker();
    const oldEmail = user.email;
    expect((await worker.send(user.token, { recipient_type: "email", recipient: oldEmail })).status).toBe(201);
    expect((await worker.send(user.token, { recipient_type: "whatsapp", recipient: "+14155550180" })).status).toBe(201);
    const newEmail = `${unique("moved")}@example.test`;
    await env.DB.prepare("UPDATE users SET email = ?, phone = ? WHERE id = ?").bind(newEmail, "+14155550181", user.id).run();

    expect((await worker.send(user.token, { recipient_type: "email", recipient: oldEmail })).status).toBe(403);
    expect((await worker.send(user.token, { recipient_type: "whatsapp", recipient: "+14155550180" })).status).toBe(403);
    expect((await worker.send(user.token, { recipient_type: "email", recipient: newEmail })).status).toBe(201);
    expect((await worker.send(user.token, { recipient_type: "whatsapp", recipient: "+14155550181" })).status).toBe(201);
    expect(await written(user.id)).toBe(4);
  });

  it("a bulk request with one stranger writes none of its items, not even the user's own, and uses none of the allowance", async () => {
    const user = await createUser();
    const worker = recordedWorker();
    const res = await worker.bulk(user.token, [
      { recipient_type: "email", recipient: user.email },
      { recipient_type: "email", recipient: "not-an-email" },
      { recipient_type: "email", recipient: `${unique("stranger")}@example.test` },
      { recipient_type: "email", recipient: user.email },
      { recipient_type: "telegram", recipient: "123456789" },
    ]);
    expect(res.status).toBe(403);
    expect(res.body.details.refused_indexes).toEqual([2, 4]);
    expect(worker.trips().map((t) => t.kind)).toEqual(["batch"]);
    expect(await written(user.id)).toBe(0);
    expect(await senderCount(user.id)).toBeNull();
    expect(worker.queue.sent).toEqual([]);
  });

  it("a bulk request with an item only an admin may send names it and the strangers, the first refused item's reason first", async () => {
    const user = await createUser();
    const worker = recordedWorker();
    const res = await worker.bulk(user.token, [
      { recipient_type: "email", recipient: user.email },
      { recipient_type: "email", recipient: `${unique("stranger")}@example.test` },
      { recipient_type: "email", recipient: user.email, priority: "urgent" },
      { recipient_type: "email", recipient: `${unique("stranger")}@example.test`, category: "transactional" },
    ]);
    expect(res.status).toBe(403);
    expect(res.body.error).toMatch(/own email address/);
    expect(res.body.details.refused_indexes).toEqual([1, 2, 3]);
    expect(await written(user.id)).toBe(0);
  });

  it("a stranger is refused 403, not 429, when the allowance is used up too", async () => {
    const user = await createUser();
    const worker = recordedWorker({ SENDER_HOURLY_MESSAGE_LIMIT: "1" });
    expect((await worker.send(user.token, { recipient_type: "email", recipient: user.email })).status).toBe(201);
    const stranger = await worker.send(user.token, { recipient_type: "email", recipient: `${unique("stranger")}@example.test` });
    expect(stranger.status).toBe(403);
    const own = await worker.send(user.token, { recipient_type: "email", recipient: user.email });
    expect(own.status).toBe(429);
    expect(own.headers.get("retry-after")).toMatch(/^\d+$/);
    expect(await senderCount(user.id)).toBe(1);
  });

  it("concurrent sends to their own email past the hourly allowance: exactly the allowance is sent, the rest are 429", async () => {
    const user = await createUser();
    const worker = recordedWorker({ SENDER_HOURLY_MESSAGE_LIMIT: "4" });
    const answers = await Promise.all(Array.from({ length: 10 }, () => worker.send(user.token, { recipient_type: "email", recipient: user.email })));
    expect(answers.filter((a) => a.status === 201)).toHaveLength(4);
    const refused = answers.filter((a) => a.status !== 201);
    expect(refused.map((a) => a.status)).toEqual(Array(6).fill(429));
    expect(refused.every((a) => /^\d+$/.test(a.headers.get("retry-after") ?? ""))).toBe(true);
    expect(await written(user.id)).toBe(4);
    expect(await senderCount(user.id)).toBe(4);
    expect(worker.queue.sent).toHaveLength(4);
  });
});

describe("limits count messages, not requests", () => {
  it("counts every bulk item against the sender's hourly allowance", async () => {
    const admin = await createUser({ role: "admin" });
    const limited = { ...env, SENDER_HOURLY_MESSAGE_LIMIT: "5" } as typeof env;
    const sender = { userId: admin.id, role: "admin" as const, anyRecipient: true };
    const items = (n: number) => Array.from({ length: n }, () => ({ title: "t", message: "m", recipient_type: "email", recipient: stranger() }));
    await expect(sendBulk(limited, sender, items(6))).rejects.toMatchObject({ status: 429 });
    expect((await sendBulk(limited, sender, items(3))).queued).toBe(3);
    await expect(sendBulk(limited, sender, items(3))).rejects.toMatchObject({ status: 429, headers: { "Retry-After": expect.stringMatching(/^\d+$/) } });
  });

  it("never lets concurrent sends pass the allowance", async () => {
    const admin = await createUser({ role: "admin" });
    const limited = { ...env, SENDER_HOURLY_MESSAGE_LIMIT: "4" } as typeof env;
    const sender = { userId: admin.id, role: "admin" as const, anyRecipient: true };
    const outcomes = await Promise.allSettled(
      Array.from({ length: 10 }, () => sendNotification(limited, sender, { title: "t", message: "m", recipient_type: "email", recipient: stranger(), priority: "normal", category: "system" })),
    );
    expect(outcomes.filter((o) => o.status === "fulfilled").length).toBe(4);
  });

  it("a send past the allowance writes nothing: no row, no recipient count, the allowance unchanged", async () => {
    const admin = await createUser({ role: "admin" });
    const limited = { ...env, SENDER_HOURLY_MESSAGE_LIMIT: "1" } as typeof env;
    const sender = { userId: admin.id, role: "admin" as const, anyRecipient: true };
    const target = stranger();
    const body = { title: "t", message: "m", recipient_type: "email" as const, recipient: target, priority: "normal" as const, category: "system" as const };
    expect((await sendNotification(limited, sender, body)).status).toBe("queued");
    await expect(sendNotification(limited, sender, body)).rejects.toMatchObject({ status: 429, headers: { "Retry-After": expect.stringMatching(/^\d+$/) } });
    const rows = await env.DB.prepare("SELECT COUNT(*) AS n FROM notifications WHERE user_id = ?").bind(admin.id).first<{ n: number }>();
    expect(rows!.n).toBe(1);
    const counts = await env.DB.prepare("SELECT key, count FROM rate_counters WHERE key IN (?, ?) ORDER BY key")
      .bind(`messages:sender:${admin.id}`, recipientCounterKey(target))
      .all<{ key: string; count: number }>();
    expect(counts.results.map((r) => r.count)).toEqual([1, 1]);
  });

  it("caps one recipient within a single bulk request too: the items past the day's number are skipped and not counted", async () => {
    const capped = { ...env, RECIPIENT_DAILY_MESSAGE_LIMIT: "2" } as typeof env;
    const admin = await createUser({ role: "admin" });
    const target = stranger();
    const items = Array.from({ length: 4 }, (_, i) => ({ title: `t${i}`, message: "m", recipient_type: "email", recipient: target }));
    const result = await sendBulk(capped, { userId: admin.id, role: "admin", anyRecipient: true }, items);
    // The answer says what was written: two queued, two skipped.
    expect(result).toMatchObject({ total: 4, queued: 2, pending: 0, skipped: 2, failed: 0 });
    expect(result.results.map((r) => r.status)).toEqual(["queued", "queued", "skipped", "skipped"]);
    const statuses = await Promise.all(result.results.map(async (r) => (await row(r.id!))!));
    expect(statuses.map((s) => [s.status, s.last_error])).toEqual([
      ["queued", null],
      ["queued", null],
      ["skipped", "recipient daily message limit reached"],
      ["skipped", "recipient daily message limit reached"],
    ]);
    const count = await env.DB.prepare("SELECT count FROM rate_counters WHERE key = ?")
      .bind(recipientCounterKey(target))
      .first<{ count: number }>();
    expect(count!.count).toBe(2);
  });

  it("gives each recipient at most the daily number of non-urgent messages from everyone together", async () => {
    const capped = { ...env, RECIPIENT_DAILY_MESSAGE_LIMIT: "2" } as typeof env;
    const target = stranger();
    const senders = await Promise.all([createUser({ role: "admin" }), createUser({ role: "admin" }), createUser({ role: "admin" })]);
    const sent = [];
    for (const s of senders) {
      sent.push(await sendNotification(capped, { userId: s.id, role: "admin", anyRecipient: true }, { title: "t", message: "m", recipient_type: "email", recipient: target, priority: "normal", category: "system" }));
    }
    expect(sent.map((n) => n.status)).toEqual(["queued", "queued", "skipped"]);
    expect(sent[2]!.last_error).toMatch(/daily/);
    const urgent = await sendNotification(capped, { userId: senders[0]!.id, role: "admin", anyRecipient: true }, { title: "t", message: "m", recipient_type: "email", recipient: target, priority: "urgent", category: "system" });
    expect(urgent.status).toBe("queued");
  });

  it("limits gift-card sharing and order creation per user", async () => {
    await withinOneRateWindow();
    const user = await createUser();
    const shares: number[] = [];
    for (let i = 0; i < 21; i++) shares.push((await api("POST", "/api/v1/vouchers/999999/share-gift-card", { token: user.token, body: { phone_numbers: ["+14155550100"] } })).status);
    expect(shares.slice(0, 20).every((s) => s !== 429)).toBe(true);
    expect(shares[20]).toBe(429);
    const orders: number[] = [];
    for (let i = 0; i < 21; i++) orders.push((await api("POST", "/api/v1/orders", { token: user.token, body: { nonsense: true } })).status);
    expect(orders.slice(0, 20)).toEqual(Array(20).fill(400));
    expect(orders[20]).toBe(429);
  });
});

describe("opt-out", () => {
  it("puts a working link in every non-transactional message; afterwards such messages are not sent, transactional ones still are", async () => {
    const admin = await createUser({ role: "admin" });
    const target = stranger();
    const first = await send(admin.token, { recipient_type: "email", recipient: target });
    expect(first.status).toBe(201);
    const link = linkIn((await row(first.body.id))!.message)!;
    expect(link).toMatch(/^http:\/\/perks\.test\/api\/v1\/opt-out\//);
    const out = await api("GET", new URL(link).pathname);
    expect(out.status).toBe(200);
    expect(out.body.recipient).toBe(target.toLowerCase());

    const after = await send(admin.token, { recipient_type: "email", recipient: target.toUpperCase() });
    expect(after.body.status).toBe("skipped");
    expect(after.body.last_error).toBe("recipient opted out");
    const receipt = await send(admin.token, { recipient_type: "email", recipient: target, category: "transactional" });
    expect(receipt.body.status).toBe("queued");
  });

  it("refuses a link whose signature does not match", async () => {
    const admin = await createUser({ role: "admin" });
    const first = await send(admin.token, { recipient_type: "email", recipient: stranger() });
    const link = linkIn((await row(first.body.id))!.message)!;
    const [payload, signature] = new URL(link).pathname.split("/").at(-1)!.split(".");
    const forged = `${btoa(`email:${stranger()}`).replace(/=+$/, "")}.${signature}`;
    expect((await api("GET", `/api/v1/opt-out/${forged}`)).status).toBe(404);
    expect((await api("POST", `/api/v1/opt-out/${payload}.${"A".repeat(43)}`)).status).toBe(404);
  });
});

describe("user text entering system messages", () => {
  it("refuses names with links or control and direction characters at input", async () => {
    const password = "a-long-enough-password";
    const link = await api("POST", "/api/v1/auth/register", {
      body: { username: unique("n"), password, first_name: "Your bank: account locked, verify now at https://evil.example/login" },
    });
    expect(link.status).toBe(400);
    expect(link.body.error).toMatch(/first_name.*link/);
    const bare = await api("POST", "/api/v1/auth/register", { body: { username: unique("n"), password, last_name: "evil.example/login" } });
    expect(bare.status).toBe(400);
    const bidi = await api("POST", "/api/v1/auth/register", { body: { username: unique("n"), password, first_name: "Asha\u202Egnp.exe" } });
    expect(bidi.status).toBe(400);
    const user = await createUser();
    expect((await api("PATCH", "/api/v1/auth/profile", { token: user.token, body: { first_name: "www.evil.example" } })).status).toBe(400);
    expect((await api("PATCH", "/api/v1/auth/profile", { token: user.token, body: { first_name: "Anne-Marie O'Neil" } })).status).toBe(200);
  });

  it("strips links from names already stored when it builds the gift-card message", async () => {
    const owner = await createUser();
    await env.DB.prepare("UPDATE users SET first_name = ?, last_name = '' WHERE id = ?").bind("Your bank: verify at https://evil.example/login\u202E", owner.id).run();
    const voucher = await insertVoucher(await insertMerchant(), { giftCard: true, title: "Coffee www.evil.example" });
    const purchase = await insertPurchase(owner, voucher);
    const res = await api("POST", `/api/v1/vouchers/${purchase.id}/share-gift-card`, { token: owner.token, body: { phone_numbers: ["+14155550142"] } });
    expect(res.status).toBe(200);
    const message = (await env.DB.prepare("SELECT message FROM notifications WHERE user_id = ? AND channel = 'whatsapp'").bind(owner.id).first<{ message: string }>())!.message;
    expect(message).not.toMatch(/evil\.example/);
    expect(message).not.toMatch(/\u202E/);
    expect(message).toMatch(/^Your bank: verify at \[link removed\] sent you a gift card: Coffee \[link removed\] at /);
    expect(linkIn(message)).toMatch(/^http:\/\/perks\.test\/api\/v1\/opt-out\//);
  });

  it("renders user text without links or control characters, cut to length", () => {
    expect(renderUserText("Hi\u0007 there\u200B https://x.example/a bit.ly/z", 80)).toBe("Hi there [link removed] [link removed]");
    expect(renderUserText("a".repeat(100), 10)).toBe(`${"a".repeat(9)}…`);
    expect(renderUserText("Dr. Smith & Sons", 80)).toBe("Dr. Smith & Sons");
  });
});
