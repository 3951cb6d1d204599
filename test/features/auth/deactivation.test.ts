import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { api } from "../../helpers/api";
import { createUser, DEFAULT_PASSWORD } from "../../helpers/factories";

describe("a deactivated user's tokens stop working", () => {
  it("refuses the access token and ends the sessions once an admin deactivates the user", async () => {
    const admin = await createUser({ role: "admin" });
    const user = await createUser();
    const session = await api("POST", "/api/v1/auth/login", { body: { username: user.username, password: DEFAULT_PASSWORD } });
    expect(session.status).toBe(200);
    expect((await api("GET", "/api/v1/auth/profile", { token: session.body.access })).status).toBe(200);

    const off = await api("POST", `/api/v1/admin/users/${user.id}/deactivate`, { token: admin.token });
    expect(off.status).toBe(200);
    expect(off.body.is_active).toBe(false);

    const profile = await api("GET", "/api/v1/auth/profile", { token: session.body.access });
    expect(profile.status).toBe(401);
    expect(profile.body.code).toBe("TOKEN_INVALID");
    expect((await api("POST", "/api/v1/auth/refresh", { body: { refresh: session.body.refresh } })).status).toBe(401);

    const on = await api("POST", `/api/v1/admin/users/${user.id}/activate`, { token: admin.token });
    expect(on.status).toBe(200);
    expect((await api("GET", "/api/v1/auth/profile", { token: session.body.access })).status).toBe(200);
  });

  it("refuses a token whose user was deactivated in the database before this isolate saw it", async () => {
    const user = await createUser();
    await env.DB.prepare("UPDATE users SET is_active = 0 WHERE id = ?").bind(user.id).run();
    expect((await api("GET", "/api/v1/account", { token: user.token })).status).toBe(401);
  });

  it("is for admins only", async () => {
    const user = await createUser();
    const other = await createUser();
    expect((await api("POST", `/api/v1/admin/users/${other.id}/deactivate`, { token: user.token })).status).toBe(403);
  });
});
