import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { api, isCleanError } from "../../helpers/api";
import { createUser, type TestUser } from "../../helpers/factories";

const order = {
  total_amount: "149.99",
  shipping_address: "123 Main St, Mumbai, Maharashtra 400001",
  shipping_method: "standard",
  notes: "Urgent delivery required",
};

const placeOrder = (user: TestUser, body: Record<string, unknown> = order) => api("POST", "/api/v1/orders/", { token: user.token, body });

const notificationsFor = (orderId: number) =>
  env.DB.prepare("SELECT channel, status, last_error, category, dedupe_key FROM notifications WHERE dedupe_key LIKE ? ORDER BY dedupe_key")
    .bind(`order:${orderId}:%`)
    .all<{ channel: string; status: string; last_error: string | null; category: string; dedupe_key: string }>()
    .then((r) => r.results);

describe("placing an order", () => {
  it("assigns the caller's customer (created from the profile), a tracking number, INR and minor units", async () => {
    const user = await createUser({ phone: "+919876543210" });
    const res = await placeOrder(user, { ...order, order_number: `ORD-${user.id}-A`, status: "pending" });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      order_number: `ORD-${user.id}-A`,
      status: "pending",
      total_amount: "149.99",
      currency: "INR",
      customer_email: user.email,
      shipping_method: "standard",
    });
    expect(res.body.tracking_number).toMatch(/^TRK-[A-Z2-9]{10}$/);
    const stored = await env.DB.prepare("SELECT total_amount FROM orders WHERE id = ?").bind(res.body.id).first();
    expect(stored).toEqual({ total_amount: 14999 });

    const customers = await api("GET", "/api/v1/customers/", { token: user.token });
    expect(customers.body.count).toBe(1);
    expect(customers.body.results[0]).toMatchObject({ id: res.body.customer, email: user.email, phone: "+919876543210" });

    const second = await placeOrder(user, { ...order, currency: "usd" });
    expect(second.body.customer).toBe(res.body.customer);
    expect(second.body.currency).toBe("USD");
    expect(second.body.order_number).toMatch(/^ORD-[A-Z2-9]{10}$/);
  });

  it("uses the customer record the caller already has for their email", async () => {
    const user = await createUser();
    const customer = await api("POST", "/api/v1/customers/", { token: user.token, body: { name: "Me", email: user.email, telegram_chat_id: "777" } });
    const res = await placeOrder(user);
    expect(res.body).toMatchObject({ customer: customer.body.id, customer_name: "Me" });
  });

  it("concurrent first orders share one customer record", async () => {
    const user = await createUser();
    const results = await Promise.all(Array.from({ length: 5 }, () => placeOrder(user)));
    expect(results.map((r) => r.status)).toEqual(Array(5).fill(201));
    expect(new Set(results.map((r) => r.body.customer)).size).toBe(1);
  });

  it("notifies the customer of the new order on each reachable channel", async () => {
    const user = await createUser({ phone: "+14155550123" });
    const res = await placeOrder(user);
    const sent = await notificationsFor(res.body.id);
    expect(sent.map((n) => [n.channel, n.category])).toEqual([
      ["email", "order_update"],
      ["whatsapp", "order_update"],
    ]);
    for (const n of sent) expect(["queued", "sent"]).toContain(n.status);
  });

  it("refuses server-owned fields: a status other than pending, tracking_number, customer", async () => {
    const user = await createUser();
    const shipped = await placeOrder(user, { ...order, status: "shipped" });
    expect(shipped.status).toBe(400);
    expect(shipped.body.error).toMatch(/starts as pending/);
    expect(isCleanError(shipped.body)).toBe(true);
    for (const field of [{ tracking_number: "TRK1" }, { customer: 1 }]) {
      const res = await placeOrder(user, { ...order, ...field });
      expect(res.status).toBe(400);
      expect(res.body.error).toMatch(/Unknown or read-only field/);
    }
    expect((await placeOrder(user, { ...order, total_amount: "1.234" })).status).toBe(400);
    expect((await placeOrder(user, { ...order, currency: "RUPEES" })).status).toBe(400);
  });

  it("refuses a duplicate order_number with 409", async () => {
    const user = await createUser();
    const number = `ORD-DUP-${user.id}`;
    expect((await placeOrder(user, { ...order, order_number: number })).status).toBe(201);
    const again = await placeOrder(user, { ...order, order_number: number });
    expect(again.status).toBe(409);
    expect(isCleanError(again.body)).toBe(true);
  });
});

describe("reading orders", () => {
  it("a user lists and reads their own orders; another user's order is 404; admins see all", async () => {
    const owner = await createUser();
    const stranger = await createUser();
    const admin = await createUser({ role: "admin" });
    const id = (await placeOrder(owner)).body.id;
    const mine = await api("GET", "/api/v1/orders/", { token: owner.token });
    expect(mine.body.count).toBe(1);
    expect(mine.body.results[0].id).toBe(id);
    expect((await api("GET", "/api/v1/orders/", { token: stranger.token })).body.count).toBe(0);
    expect((await api("GET", `/api/v1/orders/${id}/`, { token: stranger.token })).status).toBe(404);
    expect((await api("GET", `/api/v1/orders/${id}/`, { token: owner.token })).body.id).toBe(id);
    expect((await api("GET", `/api/v1/orders/${id}/`, { token: admin.token })).status).toBe(200);
    const filtered = await api("GET", "/api/v1/orders/?status=pending&page_size=100", { token: admin.token });
    expect(filtered.body.results.some((o: any) => o.id === id)).toBe(true);
  });
});

describe("admin changes", () => {
  it("a non-admin cannot change or delete an order, even their own (403)", async () => {
    const owner = await createUser();
    const id = (await placeOrder(owner)).body.id;
    for (const [method, path, body] of [
      ["PUT", `/api/v1/orders/${id}/status/`, { status: "confirmed" }],
      ["PUT", `/api/v1/orders/${id}/`, { notes: "mine" }],
      ["PATCH", `/api/v1/orders/${id}/`, { notes: "mine" }],
      ["DELETE", `/api/v1/orders/${id}/`],
    ] as const) {
      const res = await api(method, path, { token: owner.token, body });
      expect([method, path, res.status, res.body.code]).toEqual([method, path, 403, "FORBIDDEN"]);
    }
    expect((await api("GET", `/api/v1/orders/${id}/`, { token: owner.token })).body).toMatchObject({ status: "pending", notes: order.notes });
  });

  it("follows the status machine; an impossible move is 409 with the allowed next states", async () => {
    const owner = await createUser();
    const admin = await createUser({ role: "admin" });
    const id = (await placeOrder(owner)).body.id;
    const move = (status: string) => api("PUT", `/api/v1/orders/${id}/status/`, { token: admin.token, body: { status } });

    const skip = await move("shipped");
    expect(skip.status).toBe(409);
    expect(skip.body).toMatchObject({ code: "INVALID_STATUS_TRANSITION", details: { from: "pending", to: "shipped", allowed: ["confirmed", "cancelled"] } });
    for (const status of ["confirmed", "processing", "shipped", "delivered", "refunded"]) {
      const res = await move(status);
      expect([status, res.status, res.body.status]).toEqual([status, 200, status]);
    }
    const terminal = await move("cancelled");
    expect(terminal.status).toBe(409);
    expect(terminal.body.details.allowed).toEqual([]);
  });

  it("asking for the current status is a no-op without a new notice", async () => {
    const owner = await createUser();
    const admin = await createUser({ role: "admin" });
    const id = (await placeOrder(owner)).body.id;
    await api("PUT", `/api/v1/orders/${id}/status/`, { token: admin.token, body: { status: "confirmed" } });
    const before = (await notificationsFor(id)).length;
    const same = await api("PUT", `/api/v1/orders/${id}/status/`, { token: admin.token, body: { status: "confirmed" } });
    expect(same.status).toBe(200);
    expect(same.body.status).toBe("confirmed");
    expect((await notificationsFor(id)).length).toBe(before);
  });

  it("concurrent identical status changes move the order once and notify once", async () => {
    const owner = await createUser();
    const admin = await createUser({ role: "admin" });
    const id = (await placeOrder(owner)).body.id;
    const results = await Promise.all(
      Array.from({ length: 8 }, () => api("PUT", `/api/v1/orders/${id}/status/`, { token: admin.token, body: { status: "confirmed" } })),
    );
    expect(results.map((r) => r.status)).toEqual(Array(8).fill(200));
    const history = await env.DB.prepare("SELECT from_status, to_status FROM order_status_history WHERE order_id = ? ORDER BY id").bind(id).all();
    expect(history.results).toEqual([
      { from_status: null, to_status: "pending" },
      { from_status: "pending", to_status: "confirmed" },
    ]);
    expect((await notificationsFor(id)).filter((n) => n.dedupe_key.includes(":history:"))).toHaveLength(1);
  });

  it("PUT and PATCH update fields and move the status; a 409 leaves the order untouched", async () => {
    const owner = await createUser();
    const admin = await createUser({ role: "admin" });
    const id = (await placeOrder(owner)).body.id;
    const refused = await api("PUT", `/api/v1/orders/${id}/`, { token: admin.token, body: { status: "shipped", notes: "too soon" } });
    expect(refused.status).toBe(409);
    expect((await api("GET", `/api/v1/orders/${id}/`, { token: admin.token })).body.notes).toBe(order.notes);

    const put = await api("PUT", `/api/v1/orders/${id}/`, {
      token: admin.token,
      body: { status: "confirmed", tracking_number: `TRK${id}X9`, notes: "Package shipped via express delivery" },
    });
    expect(put.status).toBe(200);
    expect(put.body).toMatchObject({ status: "confirmed", tracking_number: `TRK${id}X9`, notes: "Package shipped via express delivery" });
    const patch = await api("PATCH", `/api/v1/orders/${id}/`, { token: admin.token, body: { status: "processing" } });
    expect(patch.body.status).toBe("processing");
    expect((await api("PATCH", `/api/v1/orders/${id}/`, { token: admin.token, body: { customer: 1 } })).status).toBe(400);
  });

  it("an admin deletes an order; it is gone", async () => {
    const owner = await createUser();
    const admin = await createUser({ role: "admin" });
    const id = (await placeOrder(owner)).body.id;
    expect((await api("DELETE", `/api/v1/orders/${id}/`, { token: admin.token })).status).toBe(204);
    expect((await api("GET", `/api/v1/orders/${id}/`, { token: owner.token })).status).toBe(404);
    expect((await api("DELETE", `/api/v1/orders/${id}/`, { token: admin.token })).status).toBe(404);
  });

  it("a customer with orders cannot be deleted (409)", async () => {
    const owner = await createUser();
    const customer = (await placeOrder(owner)).body.customer;
    const res = await api("DELETE", `/api/v1/customers/${customer}/`, { token: owner.token });
    expect(res.status).toBe(409);
  });
});

describe("order notifications follow the customer's preferences", () => {
  it("Telegram turned off: the order update over Telegram is skipped, email still goes", async () => {
    const user = await createUser();
    const admin = await createUser({ role: "admin" });
    const customer = await api("POST", "/api/v1/customers/", { token: user.token, body: { name: "Tess", email: user.email, telegram_chat_id: "424242" } });
    await api("PATCH", `/api/v1/customers/${customer.body.id}/preferences/`, { token: user.token, body: { telegram_enabled: false } });

    const id = (await placeOrder(user)).body.id;
    await api("PUT", `/api/v1/orders/${id}/status/`, { token: admin.token, body: { status: "confirmed" } });
    const sent = await notificationsFor(id);
    const telegram = sent.filter((n) => n.channel === "telegram");
    expect(telegram).toHaveLength(2);
    for (const n of telegram) expect(n).toMatchObject({ status: "skipped", last_error: "Skipped: the customer turned off telegram notifications." });
    const email = sent.filter((n) => n.channel === "email");
    expect(email).toHaveLength(2);
    for (const n of email) expect(["queued", "sent"]).toContain(n.status);

    const history = await api("GET", "/api/v1/notifications/?recipient_type=telegram", { token: user.token });
    expect(history.body.results.map((n: any) => n.status)).toEqual(["skipped", "skipped"]);
  });
});
