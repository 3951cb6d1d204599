import { env } from "cloudflare:workers";
import { createExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { app } from "../../../src/index";
import { api, BASE } from "../../helpers/api";
import { createApiKey, createUser } from "../../helpers/factories";

describe("client API keys", () => {
  it("admins create a key shown once, stored only as a hash, listed without the secret", async () => {
    const admin = await createUser({ role: "admin" });
    const created = await api("POST", "/api/v1/admin/api-keys/", { token: admin.token, body: { name: "mobile app" } });
    expect(created.status).toBe(201);
    expect(created.body.key).toMatch(/^pk_/);
    const stored = await env.DB.prepare("SELECT key_hash FROM api_keys WHERE id = ?").bind(created.body.id).first<{ key_hash: string }>();
    expect(stored!.key_hash).not.toContain(created.body.key);
    const list = await api("GET", "/api/v1/admin/api-keys", { token: admin.token });
    const listed = list.body.results.find((k: { id: number }) => k.id === created.body.id);
    expect(listed).toMatchObject({ name: "mobile app", revoked_at: null });
    expect(JSON.stringify(list.body)).not.toContain(created.body.key);
  });

  it("non-admins get 403", async () => {
    const user = await createUser();
    const res = await api("POST", "/api/v1/admin/api-keys", { token: user.token, body: { name: "x" } });
    expect(res.status).toBe(403);
    expect(res.body.code).toBe("FORBIDDEN");
  });

  it("a sent X-API-Key must be valid; a revoked key stops working", async () => {
    const admin = await createUser({ role: "admin" });
    const { body } = await api("POST", "/api/v1/admin/api-keys", { token: admin.token, body: { name: "till" } });
    const ok = await api("GET", "/api/v1/auth/profile", { token: admin.token, headers: { "x-api-key": body.key } });
    expect(ok.status).toBe(200);
    const bad = await api("GET", "/api/v1/auth/profile", { token: admin.token, headers: { "x-api-key": "pk_wrong" } });
    expect(bad.status).toBe(401);
    expect(bad.body.code).toBe("API_KEY_INVALID");
    const revoked = await api("DELETE", `/api/v1/admin/api-keys/${body.id}`, { token: admin.token });
    expect(revoked.status).toBe(200);
    const after = await api("GET", "/api/v1/auth/profile", { token: admin.token, headers: { "x-api-key": body.key } });
    expect(after.status).toBe(401);
  });

  it("REQUIRE_API_KEY=true makes a key mandatory, except for health and docs", async () => {
    const strictEnv = { ...env, REQUIRE_API_KEY: "true" };
    const call = (path: string, headers: Record<string, string> = {}) =>
      app.fetch(new Request(`${BASE}${path}`, { headers }), strictEnv, createExecutionContext());
    const missing = await call("/api/v1/offers-that-need-a-key");
    expect(missing.status).toBe(401);
    expect(((await missing.json()) as { code: string }).code).toBe("API_KEY_REQUIRED");
    expect((await call("/api/v1/health/live")).status).toBe(200);
    // Health without a key: the public answer; with one: the detail.
    const anonymousHealth = await call("/api/v1/health");
    expect(anonymousHealth.status).toBe(200);
    expect(Object.keys((await anonymousHealth.json()) as object).sort()).toEqual(["status", "timestamp"]);
    const keyedHealth = (await (await call("/api/v1/health", { "x-api-key": await createApiKey() })).json()) as { components?: object };
    expect(keyedHealth.components).toBeDefined();
    expect((await call("/api/openapi.json")).status).toBe(200);
    // Images are loaded by <img> tags, which cannot send the header.
    expect((await call("/api/v1/media/vouchers/missing.png")).status).not.toBe(401);
  });

  it("REQUIRE_API_KEY=true: a browser's WebSocket offers the key as an apikey.<key> subprotocol", async () => {
    const strictEnv = { ...env, REQUIRE_API_KEY: "true" };
    const user = await createUser();
    const key = await createApiKey();
    const open = (protocols: string[]) =>
      app.fetch(
        new Request(`${BASE}/api/v1/events`, { headers: { upgrade: "websocket", "sec-websocket-protocol": protocols.join(", ") } }),
        strictEnv,
        createExecutionContext(),
      );
    const withoutKey = await open(["perks-edge", `bearer.${user.token}`]);
    expect(withoutKey.status).toBe(401);
    expect(((await withoutKey.json()) as { code: string }).code).toBe("API_KEY_REQUIRED");
    const wrongKey = await open(["perks-edge", `bearer.${user.token}`, "apikey.pk_not-a-key"]);
    expect(wrongKey.status).toBe(401);
    expect(((await wrongKey.json()) as { code: string }).code).toBe("API_KEY_INVALID");

    const opened = await open(["perks-edge", `bearer.${user.token}`, `apikey.${key}`]);
    expect(opened.status).toBe(101);
    // The browser accepts the socket only if the answered subprotocol is one it offered: never the key.
    expect(opened.headers.get("sec-websocket-protocol")).toBe("perks-edge");
    const ws = opened.webSocket!;
    ws.accept();
    const first = await new Promise<{ type: string }>((resolve) => ws.addEventListener("message", (e) => resolve(JSON.parse(String(e.data)))));
    expect(first.type).toBe("connected");
    ws.close(1000, "done");

    // Only on a WebSocket upgrade: a plain request cannot smuggle the key in that header.
    const plain = await app.fetch(new Request(`${BASE}/api/v1/offers/`, { headers: { "sec-websocket-protocol": `apikey.${key}` } }), strictEnv, createExecutionContext());
    expect(plain.status).toBe(401);
  });
});
