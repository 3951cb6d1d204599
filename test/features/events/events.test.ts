import { env, exports } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import type { Env } from "../../../src/env";
import { publishUserEvent, userEventsObject } from "../../../src/features/events/publish";
import { MAX_SOCKETS_PER_USER } from "../../../src/features/events/user-events.durable-object";
import { completeActivation } from "../../../src/features/activation/activation.service";
import { QueueName } from "../../../src/queues/messages";
import { api, BASE, isCleanError } from "../../helpers/api";
import { accessTokenFor, createUser, walletState } from "../../helpers/factories";
import { outbound } from "../../helpers/outbound";
import { deliverNotifications, insertNotification, CREDENTIALS } from "../notifications/helpers";
import { deliverActivation, makeOffer, partnerHeaders, pendingActivation } from "../../helpers/offer-factories";
import { activationEvent, connect, roundTrip } from "./helpers";

const upgrade = (headers: Record<string, string>) =>
  exports.default.fetch(new Request(`${BASE}/api/v1/events`, { headers: { upgrade: "websocket", ...headers } }));

describe("GET /api/v1/events: the handshake", () => {
  it("answers the perks-edge subprotocol and says when the socket's token expires", async () => {
    const user = await createUser();
    const socket = await connect(user.token);
    expect(socket.status).toBe(101);
    expect(socket.protocol).toBe("perks-edge");
    const hello = await socket.next((m) => m.type === "connected");
    expect(Date.parse(hello.expires_at)).toBeGreaterThan(Date.now() + 800_000);
    socket.ws.close(1000, "done");
  });

  it("refuses without Upgrade (426), without a token (401), with a bad, refresh or expired token (401), without perks-edge (400)", async () => {
    const user = await createUser();
    const plain = await api("GET", "/api/v1/events", { token: user.token });
    expect(plain.status).toBe(426);
    expect(plain.body.code).toBe("UPGRADE_REQUIRED");
    expect(isCleanError(plain.body)).toBe(true);

    const none = await upgrade({ "sec-websocket-protocol": "perks-edge" });
    expect(none.status).toBe(401);
    expect((await none.json<any>()).code).toBe("UNAUTHENTICATED");

    const { signToken } = await import("../../../src/lib/jwt");
    const refresh = await signToken(env, "refresh", { sub: String(user.id), jti: "j", fam: "f" }, 900);
    const expired = await accessTokenFor(user, -10);
    for (const token of ["not-a-jwt", refresh, expired, user.token.slice(0, -3) + "abc"]) {
      const res = await upgrade({ "sec-websocket-protocol": `perks-edge, bearer.${token}` });
      expect(res.status).toBe(401);
      expect(res.webSocket).toBeNull();
      expect((await res.json<any>()).code).toBe("TOKEN_INVALID");
    }

    const noProtocol = await upgrade({ "sec-websocket-protocol": `bearer.${user.token}` });
    expect(noProtocol.status).toBe(400);
    expect(noProtocol.webSocket).toBeNull();
  });

  it("refuses a deactivated account's token (401) though it has not expired", async () => {
    const user = await createUser();
    await env.DB.prepare("UPDATE users SET is_active = 0 WHERE id = ?").bind(user.id).run();
    const res = await upgrade({ "sec-websocket-protocol": `perks-edge, bearer.${user.token}` });
    expect(res.status).toBe(401);
    expect(res.webSocket).toBeNull();
    expect((await res.json<any>()).code).toBe("TOKEN_INVALID");
  });

  it("accepts Authorization: Bearer from clients that can set headers, answering no subprotocol", async () => {
    const user = await createUser();
    const res = await upgrade({ authorization: `Bearer ${user.token}` });
    expect(res.status).toBe(101);
    expect(res.headers.get("sec-websocket-protocol")).toBeNull();
    res.webSocket!.accept();
    res.webSocket!.close(1000);
  });

  it("is documented with its message shapes", async () => {
    const { body } = await api("GET", "/api/openapi.json");
    const op = body.paths["/api/v1/events"].get;
    expect(Object.keys(op.responses)).toEqual(expect.arrayContaining(["101", "401", "426"]));
    expect(op.description).toContain("bearer.<access token>");
    expect(body.components.schemas.ActivationStatusEvent.properties.type).toMatchObject({ enum: ["activation.status"] });
    expect(body.components.schemas.NotificationStatusEvent).toBeDefined();
  });
});

describe("activation status arrives on the socket without polling", () => {
  it("PENDING then SUCCESS, both with the times the status endpoint reports", async () => {
    const user = await createUser({ balance: 5000 });
    const offer = await makeOffer({ price: 2000 });
    const socket = await connect(user.token);
    const accepted = await api("POST", "/api/v1/activation/", { token: user.token, body: { offer_id: offer.id } });
    expect(accepted.status).toBe(202);
    const id = accepted.body.transaction_id;
    const pending = await socket.next(activationEvent(id, "PENDING"));

    await deliverActivation(id);
    const success = await socket.next(activationEvent(id, "SUCCESS"));
    const status = await api("GET", `/api/v1/activation/status/${id}`, { token: user.token });
    expect(success).toEqual({ type: "activation.status", transaction_id: id, status: "SUCCESS", updated_at: status.body.updated_at });
    expect(pending.updated_at <= success.updated_at).toBe(true);
    socket.ws.close(1000);
  });

  it("FAILED from the consumer (partner refusal), with the refund already committed", async () => {
    const user = await createUser({ balance: 5000 });
    const offer = await makeOffer({ price: 2000, sandboxOutcome: "fail" });
    const socket = await connect(user.token);
    const id = await pendingActivation(user.id, offer.id);
    await deliverActivation(id);
    const failed = await socket.next(activationEvent(id, "FAILED"));
    expect(failed.type).toBe("activation.status");
    expect(await walletState(user.id)).toMatchObject({ balance: 5000, ledger_sum: 5000 });
    socket.ws.close(1000);
  });

  it("FAILED from the dead-letter queue, and SUCCESS from the partner's signed callback", async () => {
    const user = await createUser({ balance: 5000 });
    const offer = await makeOffer({ price: 1000 });
    const socket = await connect(user.token);
    const dead = await pendingActivation(user.id, offer.id);
    await deliverActivation(dead, { queue: QueueName.activationsDeadLetter });
    await socket.next(activationEvent(dead, "FAILED"));

    const called = await pendingActivation(user.id, offer.id);
    const path = "/api/v1/partner/callback";
    const raw = JSON.stringify({ transaction_id: called, status: "SUCCESS" });
    const res = await api("POST", path, { headers: await partnerHeaders("POST", path, raw), raw });
    expect(res.body).toMatchObject({ applied: true });
    await socket.next(activationEvent(called, "SUCCESS"));

    // A duplicate callback changes nothing and announces nothing.
    const again = await api("POST", path, { headers: await partnerHeaders("POST", path, raw), raw });
    expect(again.body).toMatchObject({ applied: false });
    await roundTrip(socket);
    expect(socket.messages.filter(activationEvent(called, "SUCCESS"))).toHaveLength(1);
    socket.ws.close(1000);
  });
});

describe("who hears what", () => {
  it("never delivers one user's events to another", async () => {
    const alice = await createUser({ balance: 5000 });
    const bob = await createUser({ balance: 5000 });
    const offer = await makeOffer({ price: 1000 });
    const [aliceSocket, bobSocket] = await Promise.all([connect(alice.token), connect(bob.token)]);
    const id = await pendingActivation(alice.id, offer.id);
    await deliverActivation(id);
    await aliceSocket.next(activationEvent(id, "SUCCESS"));
    await roundTrip(bobSocket);
    expect(bobSocket.messages.map((m) => m.type)).toEqual(["connected", "pong"]);
    aliceSocket.ws.close(1000);
    bobSocket.ws.close(1000);
  });

  it("delivers to every socket of the user (phone, laptop, tab)", async () => {
    const user = await createUser({ balance: 5000 });
    const offer = await makeOffer({ price: 1000 });
    const sockets = await Promise.all([connect(user.token), connect(user.token), connect(await accessTokenFor(user))]);
    const id = await pendingActivation(user.id, offer.id);
    await deliverActivation(id);
    const received = await Promise.all(sockets.map((s) => s.next(activationEvent(id, "SUCCESS"))));
    expect(received.map((m) => m.transaction_id)).toEqual([id, id, id]);
    for (const s of sockets) s.ws.close(1000);
  });

  it(`keeps at most ${MAX_SOCKETS_PER_USER} sockets per user: the oldest is closed with 4009`, async () => {
    const user = await createUser();
    const first = await connect(user.token);
    const rest = [];
    for (let i = 1; i < MAX_SOCKETS_PER_USER; i++) rest.push(await connect(user.token));
    await roundTrip(first); // still open at the limit
    const newest = await connect(user.token);
    expect(await first.closed).toMatchObject({ code: 4009 });
    await publishUserEvent(env as unknown as Env, user.id, { type: "activation.status", transaction_id: "t", status: "SUCCESS", updated_at: new Date().toISOString() });
    await Promise.all([newest, ...rest].map((s) => s.next((m) => m.type === "activation.status")));
    for (const s of [...rest, newest]) s.ws.close(1000);
  });
});

describe("token lifetime", () => {
  it("closes the socket with 4001 when its token expires", async () => {
    const user = await createUser();
    const socket = await connect(await accessTokenFor(user, 2));
    const closed = await Promise.race([socket.closed, new Promise((_, reject) => setTimeout(() => reject(new Error("not closed")), 6_000))]);
    expect(closed).toMatchObject({ code: 4001 });
    expect((closed as { reason: string }).reason).toContain("expired");
  });

  it("a renewed socket outlives its first token; another user's token does not renew it", async () => {
    const user = await createUser({ balance: 5000 });
    const other = await createUser();
    const socket = await connect(await accessTokenFor(user, 2));
    socket.ws.send(JSON.stringify({ type: "renew", token: other.token }));
    expect(await socket.next((m) => m.type === "error")).toMatchObject({ code: "TOKEN_INVALID" });
    socket.ws.send(JSON.stringify({ type: "renew", token: user.token }));
    const renewed = await socket.next((m) => m.type === "renewed");
    expect(Date.parse(renewed.expires_at)).toBeGreaterThan(Date.now() + 800_000);
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    const offer = await makeOffer({ price: 1000 });
    const id = await pendingActivation(user.id, offer.id);
    await deliverActivation(id);
    await socket.next(activationEvent(id, "SUCCESS"));
    socket.ws.close(1000);
  });

  it("answers unknown messages with an error and stays open", async () => {
    const user = await createUser();
    const socket = await connect(user.token);
    socket.ws.send("hello");
    expect(await socket.next((m) => m.type === "error")).toMatchObject({ code: "UNKNOWN_MESSAGE" });
    await roundTrip(socket);
    socket.ws.close(1000);
  });
});

describe("notification status", () => {
  it("the sender hears sent, refused (failed) and dead-lettered (failed)", async () => {
    const user = await createUser();
    const socket = await connect(user.token);
    const sent = await insertNotification({ userId: user.id });
    await deliverNotifications([sent]);
    expect(await socket.next((m) => m.notification_id === sent)).toMatchObject({ type: "notification.status", status: "sent" });

    outbound.on("https://api.telegram.org/", Response.json({ ok: false, description: "chat not found" }, { status: 400 }));
    const refused = await insertNotification({ userId: user.id, channel: "telegram", recipient: "12345" });
    await deliverNotifications([refused], { overrides: CREDENTIALS });
    expect(await socket.next((m) => m.notification_id === refused)).toMatchObject({ status: "failed" });

    const dead = await insertNotification({ userId: user.id });
    await deliverNotifications([dead], { queue: QueueName.notificationsDeadLetter });
    expect(await socket.next((m) => m.notification_id === dead)).toMatchObject({ status: "failed" });
    socket.ws.close(1000);
  });
});

describe("notification status, a batch at a time", () => {
  it("several of one user's notifications settled in one batch: every socket hears each, in the batch's order", async () => {
    const user = await createUser();
    const sockets = await Promise.all([connect(user.token), connect(user.token)]);
    outbound.on("https://api.telegram.org/", Response.json({ ok: false, description: "chat not found" }, { status: 400 }));
    const first = await insertNotification({ userId: user.id });
    const refused = await insertNotification({ userId: user.id, channel: "telegram", recipient: "12345" });
    const last = await insertNotification({ userId: user.id });
    // Telegram's credentials only: the emails go through the sandbox.
    await deliverNotifications([first, refused, last], { overrides: { TELEGRAM_BOT_TOKEN: CREDENTIALS.TELEGRAM_BOT_TOKEN } });
    for (const socket of sockets) {
      await socket.next((m) => m.notification_id === last);
      const heard = socket.messages.filter((m) => m.type === "notification.status").map((m) => [m.notification_id, m.status]);
      expect(heard).toEqual([
        [first, "sent"],
        [refused, "failed"],
        [last, "sent"],
      ]);
      socket.ws.close(1000);
    }
  });
});

describe("the events object's publish", () => {
  it("takes several events (each its own socket message, in order) or one alone (as a worker from before grouping calls it)", async () => {
    const user = await createUser();
    const socket = await connect(user.token);
    const event = (id: string) => ({ type: "notification.status", notification_id: id, status: "sent", updated_at: new Date().toISOString() }) as const;
    const stub = userEventsObject(env as unknown as Env, user.id);
    expect(await stub.publish([event("first"), event("second")])).toBe(1);
    expect(await stub.publish(event("alone"))).toBe(1);
    await socket.next((m) => m.notification_id === "alone");
    expect(socket.messages.filter((m) => m.type === "notification.status").map((m) => m.notification_id)).toEqual(["first", "second", "alone"]);
    socket.ws.close(1000);
  });
});

describe("publishing never holds up or breaks the money path", () => {
  const event = { type: "activation.status", transaction_id: "x", status: "SUCCESS", updated_at: "2026-01-01T00:00:00.000Z" } as const;

  it("a broken events binding: the activation completes and the publish resolves", async () => {
    const user = await createUser({ balance: 5000 });
    const offer = await makeOffer({ price: 1000 });
    const id = await pendingActivation(user.id, offer.id);
    const broken = { ...env, USER_EVENTS: { idFromName: () => { throw new Error("boom"); } } } as unknown as Env;
    expect(await completeActivation(broken, id, { status: "SUCCESS" })).toEqual({ applied: true, status: "SUCCESS" });
    await expect(publishUserEvent(broken, user.id, event)).resolves.toBeUndefined();
  });

  it("a hanging object: the activation does not wait for it, and the publish gives up after its bound", async () => {
    const user = await createUser({ balance: 5000 });
    const offer = await makeOffer({ price: 1000 });
    const id = await pendingActivation(user.id, offer.id);
    let calls = 0;
    const hanging = {
      ...env,
      USER_EVENTS: { idFromName: (name: string) => name, get: () => ({ publish: () => (calls++, new Promise(() => {})) }) },
    } as unknown as Env;
    const warn = vi.spyOn(console, "warn");
    const gaveUp = () => warn.mock.calls.filter(([line]) => String(line).includes("user event not published")).length;
    try {
      expect(await completeActivation(hanging, id, { status: "SUCCESS" })).toEqual({ applied: true, status: "SUCCESS" });
      // Had the activation awaited the publish, the publish would have timed out (and logged) first.
      expect(calls).toBe(1);
      expect(gaveUp()).toBe(0);
      await expect(publishUserEvent(hanging, user.id, event)).resolves.toBeUndefined();
      expect(gaveUp()).toBeGreaterThanOrEqual(1);
    } finally {
      warn.mockRestore();
    }
  });
});
