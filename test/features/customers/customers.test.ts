import { describe, expect, it } from "vitest";
import { api, isCleanError } from "../../helpers/api";
import { createUser } from "../../helpers/factories";

const john = {
  name: "John Doe",
  email: "john.doe@example.com",
  phone: "+1 (234) 567-8901",
  telegram_chat_id: "123456789",
  address: "123 Main St",
  city: "New York",
  country: "USA",
  postal_code: "10001",
};

describe("customers", () => {
  it("creates, reads, lists, updates and deletes a customer the caller owns", async () => {
    const user = await createUser();
    const created = await api("POST", "/api/v1/customers/", { token: user.token, body: john });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ ...john, phone: "+12345678901" });
    const id = created.body.id;

    expect((await api("GET", `/api/v1/customers/${id}/`, { token: user.token })).body).toEqual(created.body);
    const list = await api("GET", "/api/v1/customers", { token: user.token });
    expect(list.body).toMatchObject({ count: 1, next: null, previous: null });
    expect(list.body.results[0].id).toBe(id);

    const patched = await api("PATCH", `/api/v1/customers/${id}/`, { token: user.token, body: { phone: "+1987654321" } });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ phone: "+1987654321", name: "John Doe" });

    expect((await api("DELETE", `/api/v1/customers/${id}/`, { token: user.token })).status).toBe(204);
    expect((await api("GET", `/api/v1/customers/${id}/`, { token: user.token })).status).toBe(404);
  });

  it("validates phone and telegram_chat_id and refuses unknown fields", async () => {
    const user = await createUser();
    const badPhone = await api("POST", "/api/v1/customers/", { token: user.token, body: { ...john, phone: "12345" } });
    expect(badPhone.status).toBe(400);
    expect(badPhone.body.error).toMatch(/^phone: .*E\.164/);
    expect(isCleanError(badPhone.body)).toBe(true);
    expect((await api("POST", "/api/v1/customers/", { token: user.token, body: { ...john, telegram_chat_id: "not a chat" } })).status).toBe(400);
    const owner = await api("POST", "/api/v1/customers/", { token: user.token, body: { ...john, owner_user_id: 1 } });
    expect(owner.status).toBe(400);
    expect(owner.body.error).toMatch(/owner_user_id/);
  });

  it("refuses a second customer with the same email for one owner (409)", async () => {
    const user = await createUser();
    expect((await api("POST", "/api/v1/customers/", { token: user.token, body: john })).status).toBe(201);
    const again = await api("POST", "/api/v1/customers/", { token: user.token, body: { ...john, name: "Other" } });
    expect(again.status).toBe(409);
    expect(again.body.code).toBe("CONFLICT");
  });

  it("nobody reads, changes or deletes another user's customer (404); an admin sees all", async () => {
    const owner = await createUser();
    const stranger = await createUser();
    const admin = await createUser({ role: "admin" });
    const id = (await api("POST", "/api/v1/customers/", { token: owner.token, body: john })).body.id;
    for (const [method, path, body] of [
      ["GET", `/api/v1/customers/${id}/`],
      ["PATCH", `/api/v1/customers/${id}/`, { name: "Hijacked" }],
      ["DELETE", `/api/v1/customers/${id}/`],
      ["GET", `/api/v1/customers/${id}/preferences/`],
      ["PATCH", `/api/v1/customers/${id}/preferences/`, { promotional: true }],
    ] as const) {
      const res = await api(method, path, { token: stranger.token, body });
      expect([method, path, res.status]).toEqual([method, path, 404]);
    }
    expect((await api("GET", "/api/v1/customers/", { token: stranger.token })).body.count).toBe(0);
    expect((await api("GET", `/api/v1/customers/${id}/`, { token: owner.token })).body.name).toBe("John Doe");
    expect((await api("GET", `/api/v1/customers/${id}/`, { token: admin.token })).status).toBe(200);
    const adminList = await api("GET", "/api/v1/customers/?page_size=100", { token: admin.token });
    expect(adminList.body.results.some((c: any) => c.id === id)).toBe(true);
  });

  it("needs a token", async () => {
    expect((await api("GET", "/api/v1/customers/")).status).toBe(401);
  });
});

describe("notification preferences", () => {
  it("has the defaults until changed, then keeps each flag sent", async () => {
    const user = await createUser();
    const id = (await api("POST", "/api/v1/customers/", { token: user.token, body: john })).body.id;
    const defaults = await api("GET", `/api/v1/customers/${id}/preferences/`, { token: user.token });
    expect(defaults.body).toEqual({
      customer: id,
      email_enabled: true,
      telegram_enabled: true,
      whatsapp_enabled: true,
      order_updates: true,
      promotional: false,
      updated_at: null,
    });
    const patched = await api("PATCH", `/api/v1/customers/${id}/preferences/`, {
      token: user.token,
      body: { email_enabled: true, telegram_enabled: false, order_updates: true, promotional: false },
    });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ telegram_enabled: false, whatsapp_enabled: true, email_enabled: true });
    const second = await api("PATCH", `/api/v1/customers/${id}/preferences/`, { token: user.token, body: { promotional: true } });
    expect(second.body).toMatchObject({ telegram_enabled: false, promotional: true });
    expect(second.body.updated_at).not.toBeNull();
  });

  it("concurrent changes of different flags all stick", async () => {
    const user = await createUser();
    const id = (await api("POST", "/api/v1/customers/", { token: user.token, body: john })).body.id;
    const flags = ["email_enabled", "telegram_enabled", "whatsapp_enabled", "order_updates"];
    await Promise.all(flags.map((flag) => api("PATCH", `/api/v1/customers/${id}/preferences/`, { token: user.token, body: { [flag]: false } })));
    const res = await api("GET", `/api/v1/customers/${id}/preferences/`, { token: user.token });
    expect(res.body).toMatchObject({ email_enabled: false, telegram_enabled: false, whatsapp_enabled: false, order_updates: false });
  });

  it("refuses non-boolean values and unknown flags", async () => {
    const user = await createUser();
    const id = (await api("POST", "/api/v1/customers/", { token: user.token, body: john })).body.id;
    expect((await api("PATCH", `/api/v1/customers/${id}/preferences/`, { token: user.token, body: { promotional: "yes" } })).status).toBe(400);
    expect((await api("PATCH", `/api/v1/customers/${id}/preferences/`, { token: user.token, body: { sms_enabled: true } })).status).toBe(400);
  });
});
