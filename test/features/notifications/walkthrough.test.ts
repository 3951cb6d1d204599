import { describe, expect, it } from "vitest";
import { api } from "../../helpers/api";
import { createUser, DEFAULT_PASSWORD, unique } from "../../helpers/factories";
import { deliverNotifications } from "./helpers";

/** The notification spec's API flow, step by step, over HTTP with `Authorization: Token ...`. */
describe("the notification spec's walkthrough", () => {
  it("register, token, customers, orders, admin updates, send, bulk, history, stats, preferences, health", async () => {
    const call = (method: string, path: string, token?: string, body?: unknown) =>
      api(method, path, { body, headers: token ? { authorization: `Token ${token}` } : {} });

    // 1. health: anyone sees the status; the components are for an admin (or an API key)
    const health = await call("GET", "/api/v1/health/");
    expect(health.status).toBe(200);
    expect(health.body.status).toBe("ok");
    expect(health.body.components).toBeUndefined();
    const detailed = await call("GET", "/api/v1/health/", (await createUser({ role: "admin" })).token);
    expect(detailed.body.components.database.status).toBe("ok");

    // 2. register, token, admin token, token check
    const username = unique("demo_user");
    const registered = await call("POST", "/api/v1/auth/register/", undefined, {
      username,
      password: "secure_password123",
      email: `${username}@example.com`,
      first_name: "Demo",
      last_name: "User",
    });
    expect(registered.status).toBe(201);
    const tokenRes = await call("POST", "/api/v1/auth/token/", undefined, { username, password: "secure_password123" });
    expect(tokenRes.status).toBe(200);
    const token: string = tokenRes.body.token;
    const admin = await createUser({ role: "admin" });
    const adminToken: string = (await call("POST", "/api/v1/auth/token/", undefined, { username: admin.username, password: DEFAULT_PASSWORD })).body.token;
    expect((await call("GET", "/api/v1/auth/token/check/", token)).body).toMatchObject({ valid: true, user: { username } });

    // 3. customers
    const customer = await call("POST", "/api/v1/customers/", token, {
      name: "John Doe",
      email: "john.doe@example.com",
      phone: "+1234567890",
      telegram_chat_id: "123456789",
      address: "123 Main St",
      city: "New York",
      country: "USA",
      postal_code: "10001",
    });
    expect(customer.status).toBe(201);
    const customerId = customer.body.id;
    expect((await call("GET", "/api/v1/customers/", token)).body.count).toBe(1);
    expect((await call("GET", `/api/v1/customers/${customerId}/`, token)).body.name).toBe("John Doe");
    expect((await call("PATCH", `/api/v1/customers/${customerId}/`, token, { phone: "+1987654321" })).body.phone).toBe("+1987654321");

    // 4. orders: created by the user, moved by the admin
    const created = await call("POST", "/api/v1/orders/", token, {
      order_number: `ORD-${unique()}`,
      total_amount: "149.99",
      currency: "INR",
      shipping_address: "123 Main St, Mumbai, Maharashtra 400001",
      shipping_method: "standard",
      status: "pending",
      notes: "Urgent delivery required",
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ status: "pending", total_amount: "149.99", currency: "INR", customer_email: `${username}@example.com` });
    const orderId = created.body.id;
    expect((await call("PUT", `/api/v1/orders/${orderId}/status/`, token, { status: "confirmed" })).status).toBe(403);
    expect((await call("PUT", `/api/v1/orders/${orderId}/status/`, adminToken, { status: "confirmed" })).body.status).toBe("confirmed");
    // The spec's next step jumps confirmed -> shipped; the status machine goes through processing.
    expect((await call("PUT", `/api/v1/orders/${orderId}/`, adminToken, { status: "shipped", tracking_number: `TRK${orderId}Z`, notes: "Package shipped via express delivery" })).status).toBe(409);
    expect((await call("PUT", `/api/v1/orders/${orderId}/`, adminToken, { status: "processing" })).body.status).toBe("processing");
    const shipped = await call("PUT", `/api/v1/orders/${orderId}/`, adminToken, { status: "shipped", tracking_number: `TRK${orderId}Z`, notes: "Package shipped via express delivery" });
    expect(shipped.body).toMatchObject({ status: "shipped", tracking_number: `TRK${orderId}Z` });
    expect((await call("PATCH", `/api/v1/orders/${orderId}/`, adminToken, { status: "delivered" })).body.status).toBe("delivered");
    expect((await call("GET", "/api/v1/orders/", token)).body.count).toBe(1);
    expect((await call("GET", `/api/v1/orders/${orderId}/`, token)).body.status).toBe("delivered");

    // 5. manual notifications: a user to their own email; free text to other recipients is the admin's
    const single = await call("POST", "/api/v1/notifications/send/", token, {
      title: "Demo Notification",
      message: "This is a test notification!",
      recipient_type: "email",
      recipient: `${username}@example.com`,
      priority: "high",
    });
    expect(single.status).toBe(201);
    const refused = await call("POST", "/api/v1/notifications/send/", token, {
      title: "Demo Notification",
      message: "This is a test notification!",
      recipient_type: "email",
      recipient: "demo@example.com",
    });
    expect(refused.status).toBe(403);
    const bulk = await call("POST", "/api/v1/notifications/bulk/", adminToken, {
      notifications: [
        { title: "Bulk Notification 1", message: "First bulk message", recipient_type: "email", recipient: "user1@example.com" },
        { title: "Bulk Notification 2", message: "Second bulk message", recipient_type: "telegram", recipient: "123456789" },
      ],
    });
    expect(bulk.body).toMatchObject({ total: 2, queued: 2, failed: 0 });

    // The queue consumer delivers (here through the sandbox: no provider secrets in tests).
    const history = await call("GET", "/api/v1/notifications/?page_size=100", token);
    // 5 order notices (created + 4 status changes) by email to the user's own customer record, plus 1 sent by hand.
    expect(history.body.count).toBe(6);
    await deliverNotifications(history.body.results.map((n: any) => n.id));
    const detail = await call("GET", `/api/v1/notifications/${single.body.id}/`, token);
    expect(detail.body).toMatchObject({ status: "sent", attempts: 1, last_error: null });
    expect(detail.body.sent_at).not.toBeNull();
    const stats = await call("GET", "/api/v1/notifications/stats/", token);
    expect(stats.body).toMatchObject({ total: 6, by_status: { sent: 6 }, by_channel: { email: 6, telegram: 0 }, success_rate: 100 });

    // 6. preferences
    expect((await call("GET", `/api/v1/customers/${customerId}/preferences/`, token)).body).toMatchObject({ email_enabled: true, promotional: false });
    const prefs = await call("PATCH", `/api/v1/customers/${customerId}/preferences/`, token, {
      email_enabled: true,
      telegram_enabled: false,
      order_updates: true,
      promotional: false,
    });
    expect(prefs.body).toMatchObject({ telegram_enabled: false, order_updates: true });

    // 7. monitoring: a user's token sees the status; the admin's sees the detail
    expect((await call("GET", "/api/v1/health/", token)).body).toEqual({ status: "ok", timestamp: expect.any(String) });
    expect((await call("GET", "/health/redis/", token)).body).toEqual({ status: "ok" });
    expect((await call("GET", "/health/celery/", token)).body).toEqual({ status: "ok" });
    expect((await call("GET", "/api/v1/health/", adminToken)).body.components.redis.status).toBe("ok");
    expect((await call("GET", "/health/celery/", adminToken)).body.backlog).toBeDefined();

    // and an admin deletes the order
    expect((await call("DELETE", `/api/v1/orders/${orderId}/`, adminToken)).status).toBe(204);
  });
});
