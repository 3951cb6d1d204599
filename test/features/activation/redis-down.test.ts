import { env } from "cloudflare:workers";
import { createExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { app } from "../../../src/index";
import { getRedis } from "../../../src/lib/redis";
import { api, BASE } from "../../helpers/api";
import { createUser, walletState } from "../../helpers/factories";
import { makeOffer } from "../../helpers/offer-factories";

/** The same worker with Redis pointing at a closed port: every Redis call fails fast. */
const redisDown = { ...env, UPSTASH_REDIS_REST_URL: "http://127.0.0.1:1" };

async function callWithRedisDown(method: string, path: string, token?: string, body?: unknown) {
  const headers: Record<string, string> = {};
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers["content-type"] = "application/json";
  const response = await app.fetch(
    new Request(`${BASE}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) }),
    redisDown,
    createExecutionContext(),
  );
  return { status: response.status, body: (await response.json()) as any };
}

describe("Redis unreachable", () => {
  it("activation and status answer from D1, health says degraded; with Redis back, status is served from the hash again", async () => {
    const user = await createUser({ balance: 5000 });
    const offer = await makeOffer({ price: 2000 });

    const activation = await callWithRedisDown("POST", "/api/v1/activation/", user.token, { offer_id: offer.id });
    expect(activation.status).toBe(202);
    expect(activation.body.status).toBe("PENDING");
    const id = activation.body.transaction_id as string;
    expect(await walletState(user.id)).toMatchObject({ balance: 3000, debits: 1 });

    const d1 = await env.DB.prepare("SELECT status, created_at, updated_at FROM transactions WHERE id = ?").bind(id).first<any>();
    const status = await callWithRedisDown("GET", `/api/v1/activation/status/${id}/`, user.token);
    expect(status.status).toBe(200);
    expect(status.body).toEqual({ transaction_id: id, status: d1.status, created_at: d1.created_at, updated_at: d1.updated_at, amount: "20.00", offer_id: offer.id });

    const stranger = await createUser();
    expect((await callWithRedisDown("GET", `/api/v1/activation/status/${id}/`, stranger.token)).status).toBe(404);

    const admin = await createUser({ role: "admin" });
    const health = await callWithRedisDown("GET", "/api/v1/health", admin.token);
    expect(health.status).toBe(200);
    expect(health.body.status).toBe("degraded");
    expect(health.body.components.redis.status).toBe("degraded");

    // Redis is back: the first read misses the hash (it was never written), falls back to D1
    // and repopulates it; later reads come from the hash, which a direct edit proves.
    const redis = getRedis(env)!;
    expect(await redis.exists(`transaction:${id}`)).toBe(0);
    const back = await api("GET", `/api/v1/activation/status/${id}/`, { token: user.token });
    expect(back.status).toBe(200);
    expect(await redis.exists(`transaction:${id}`)).toBe(1);
    await redis.hset(`transaction:${id}`, { status: "HASH-ONLY" });
    const fromHash = await api("GET", `/api/v1/activation/status/${id}/`, { token: user.token });
    expect(fromHash.body.status).toBe("HASH-ONLY");
  });

  it("the account endpoints do not need Redis at all", async () => {
    const user = await createUser({ balance: 1234 });
    const account = await callWithRedisDown("GET", "/api/v1/account/", user.token);
    expect(account.status).toBe(200);
    expect(account.body.balance).toBe("12.34");
  });
});
