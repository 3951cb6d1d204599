import { env } from "cloudflare:workers";
import { createExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { app } from "../../../src/index";
import { api, BASE } from "../../helpers/api";

describe("health", () => {
  it("reports database, Redis and queues ok", async () => {
    const res = await api("GET", "/api/v1/health/");
    expect(res.status).toBe(200);
    expect(res.body.status, JSON.stringify(res.body.components)).toBe("ok");
    expect(res.body.components.database.status).toBe("ok");
    expect(res.body.components.redis.status).toBe("ok");
    expect(res.body.components.queues.status).toBe("ok");
  });

  it("says degraded, never 500, when Redis is down", async () => {
    const redisDown = { ...env, UPSTASH_REDIS_REST_URL: "http://127.0.0.1:1" };
    const res = await app.fetch(new Request(`${BASE}/api/v1/health`), redisDown, createExecutionContext());
    expect(res.status).toBe(200);
    const body = (await res.json()) as { status: string; components: { redis: { status: string } } };
    expect(body.status).toBe("degraded");
    expect(body.components.redis.status).toBe("degraded");
  });

  it("reports queues degraded when activations are stuck", async () => {
    const old = new Date(Date.now() - 3_600_000).toISOString();
    const user = await env.DB.prepare("INSERT INTO users (username, password_hash, created_at, updated_at) VALUES ('stuck-user', 'x', ?, ?) RETURNING id").bind(old, old).first<{ id: number }>();
    await env.DB.prepare("INSERT INTO transactions (id, user_id, type, status, amount, created_at, updated_at) VALUES ('stuck-tx', ?, 'ACTIVATION', 'PENDING', 100, ?, ?)").bind(user!.id, old, old).run();
    const res = await api("GET", "/api/v1/health/queues");
    expect(res.body.status).toBe("degraded");
    expect(res.body.backlog.stuck_activations).toBe(1);
    await env.DB.prepare("UPDATE transactions SET status = 'SUCCESS' WHERE id = 'stuck-tx'").run();
  });

  it("answers the spec's root paths and liveness", async () => {
    expect((await api("GET", "/health/redis/")).body.status).toBe("ok");
    expect((await api("GET", "/health/celery/")).status).toBe(200);
    expect((await api("GET", "/api/v1/health/redis")).body.status).toBe("ok");
    expect((await api("GET", "/api/v1/health/live")).body).toEqual({ status: "ok" });
  });
});
