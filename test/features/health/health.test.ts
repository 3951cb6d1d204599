import { env } from "cloudflare:workers";
import { createExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { STUCK_WORK_SQL } from "../../../src/features/health/health.service";
import { app } from "../../../src/index";
import { api, BASE } from "../../helpers/api";
import { accessTokenFor, createApiKey, createUser } from "../../helpers/factories";

const admin = () => createUser({ role: "admin" });
const hourAgo = () => new Date(Date.now() - 3_600_000).toISOString();

async function stuckActivation(id: string) {
  const old = hourAgo();
  const user = await createUser();
  await env.DB.prepare("INSERT INTO transactions (id, user_id, type, status, amount, created_at, updated_at) VALUES (?, ?, 'ACTIVATION', 'PENDING', 100, ?, ?)").bind(id, user.id, old, old).run();
  return () => env.DB.prepare("UPDATE transactions SET status = 'SUCCESS' WHERE id = ?").bind(id).run();
}

describe("health: who sees what", () => {
  it("anonymous callers get the overall status and the time, nothing else", async () => {
    const res = await api("GET", "/api/v1/health/");
    expect(res.status).toBe(200);
    expect(Object.keys(res.body).sort()).toEqual(["status", "timestamp"]);
    expect(res.body.status).toBe("ok");
    expect(res.headers.get("cache-control")).toBe("no-store");
  });

  it("an admin's token, as Bearer or Token, gets every component", async () => {
    const { token } = await admin();
    for (const authorization of [`Bearer ${token}`, `Token ${token}`]) {
      const res = await api("GET", "/api/v1/health", { headers: { authorization } });
      expect(res.status).toBe(200);
      expect(Object.keys(res.body).sort()).toEqual(["components", "environment", "status", "timestamp"]);
      expect(res.body.status, JSON.stringify(res.body.components)).toBe("ok");
      expect(res.body.environment).toBe(env.ENVIRONMENT);
      expect(Object.keys(res.body.components).sort()).toEqual(["configuration", "database", "queues", "redis"]);
      expect(res.body.components.database.status).toBe("ok");
      expect(res.body.components.redis.status).toBe("ok");
      expect(res.body.components.queues).toMatchObject({ status: "ok", backlog: { stuck_activations: 0, stuck_notifications: 0 } });
    }
  });

  it("a valid X-API-Key gets every component", async () => {
    const res = await api("GET", "/api/v1/health", { headers: { "x-api-key": await createApiKey() } });
    expect(res.status).toBe(200);
    expect(Object.keys(res.body.components).sort()).toEqual(["configuration", "database", "queues", "redis"]);
    expect(res.body.environment).toBe(env.ENVIRONMENT);
  });

  it("a signed-in non-admin gets the public answer, not a 403", async () => {
    const user = await createUser();
    const res = await api("GET", "/api/v1/health", { token: user.token });
    expect(res.status).toBe(200);
    expect(Object.keys(res.body).sort()).toEqual(["status", "timestamp"]);
  });

  it("an invalid or expired token, or an unknown key, is ignored: the public answer, never a 401", async () => {
    const someone = await admin();
    const expired = await accessTokenFor(someone, -60);
    const calls: Record<string, string>[] = [
      { authorization: "Bearer not-a-token" },
      { authorization: `Bearer ${expired}` },
      { "x-api-key": "pk_not-a-key" },
    ];
    for (const headers of calls) {
      const res = await api("GET", "/api/v1/health", { headers });
      expect([JSON.stringify(headers), res.status]).toEqual([JSON.stringify(headers), 200]);
      expect(Object.keys(res.body).sort()).toEqual(["status", "timestamp"]);
    }
    // Elsewhere an unknown key is still refused.
    expect((await api("GET", "/api/v1/offers", { headers: { "x-api-key": "pk_not-a-key" } })).status).toBe(401);
  });

  it("the component endpoints and the spec's root paths answer only the status to anyone else", async () => {
    const { token } = await admin();
    for (const path of ["/api/v1/health/redis", "/api/v1/health/queues", "/health/redis/", "/health/celery/"]) {
      const anonymous = await api("GET", path);
      expect([path, anonymous.status, anonymous.body]).toEqual([path, 200, { status: "ok" }]);
      const user = await api("GET", path, { token: (await createUser()).token });
      expect([path, user.body]).toEqual([path, { status: "ok" }]);
    }
    expect((await api("GET", "/health/celery/", { token })).body).toMatchObject({ status: "ok", backlog: { stuck_activations: 0 } });
    expect((await api("GET", "/api/v1/health/queues", { headers: { "x-api-key": await createApiKey() } })).body.backlog).toBeDefined();
    expect((await api("GET", "/health/celery/", { headers: { "x-api-key": await createApiKey() } })).body.backlog).toBeDefined();
  });

  it("liveness stays a bare ok", async () => {
    const res = await api("GET", "/api/v1/health/live");
    expect(res.body).toEqual({ status: "ok" });
  });
});

describe("health: what it checks", () => {
  it("says degraded, never 500, when Redis is down; only the detail says which part", async () => {
    const redisDown = { ...env, UPSTASH_REDIS_REST_URL: "http://127.0.0.1:1" };
    const { token } = await admin();
    const call = async (headers: Record<string, string>) => {
      const res = await app.fetch(new Request(`${BASE}/api/v1/health`, { headers }), redisDown, createExecutionContext());
      return { status: res.status, body: (await res.json()) as Record<string, any> };
    };
    const anonymous = await call({});
    expect(anonymous.status).toBe(200);
    expect(anonymous.body).toEqual({ status: "degraded", timestamp: expect.any(String) });
    const detailed = await call({ authorization: `Bearer ${token}` });
    expect(detailed.body.status).toBe("degraded");
    expect(detailed.body.components.redis.status).toBe("degraded");
  });

  it("stuck activations make it degraded for everyone; only the detail counts them", async () => {
    const { token } = await admin();
    const settle = await stuckActivation(`stuck-${crypto.randomUUID()}`);
    try {
      const anonymous = await api("GET", "/api/v1/health");
      expect(anonymous.body).toEqual({ status: "degraded", timestamp: expect.any(String) });
      expect((await api("GET", "/api/v1/health/queues")).body).toEqual({ status: "degraded" });
      const queues = await api("GET", "/api/v1/health/queues", { token });
      expect(queues.body.status).toBe("degraded");
      expect(queues.body.backlog.stuck_activations).toBe(1);
      expect(queues.body.detail).toMatch(/waiting more than 15 minutes/);
    } finally {
      await settle();
    }
  });

  it("the stuck-work queries read a range of an index and stop at their limit", async () => {
    for (const sql of Object.values(STUCK_WORK_SQL)) {
      const { results } = await env.DB.prepare(`EXPLAIN QUERY PLAN ${sql}`).bind(hourAgo(), 1000).all<{ detail: string }>();
      const plan = results.map((r) => r.detail).join("\n");
      expect(plan).toMatch(/SEARCH (transactions|notifications) USING (COVERING )?INDEX \w+ \(status=\?/);
      expect(plan).not.toMatch(/SCAN (transactions|notifications)/);
    }
    const settles = [await stuckActivation(`cap-${crypto.randomUUID()}`), await stuckActivation(`cap-${crypto.randomUUID()}`), await stuckActivation(`cap-${crypto.randomUUID()}`)];
    try {
      const cutoff = new Date(Date.now() - 15 * 60_000).toISOString();
      expect((await env.DB.prepare(STUCK_WORK_SQL.activations).bind(cutoff, 2).first<{ n: number }>())!.n).toBe(2);
      expect((await env.DB.prepare(STUCK_WORK_SQL.activations).bind(cutoff, 1000).first<{ n: number }>())!.n).toBe(3);
    } finally {
      for (const settle of settles) await settle();
    }
  });
});
