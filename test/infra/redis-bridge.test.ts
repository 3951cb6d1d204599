// The local Upstash REST bridge (scripts/redis/upstash-bridge.mjs) must look like Upstash to
// the unchanged @upstash/redis client running inside workerd: same import, same base64
// response encoding (the client's default), same pipeline and transaction endpoints.
import { env } from "cloudflare:workers";
import { Redis } from "@upstash/redis/cloudflare";
import { describe, expect, inject, it } from "vitest";
import { getRedis } from "../../src/lib/redis";

const bindings = env as unknown as { UPSTASH_REDIS_REST_URL: string; UPSTASH_REDIS_REST_TOKEN: string };

function client(token = bindings.UPSTASH_REDIS_REST_TOKEN): Redis {
  return new Redis({ url: bindings.UPSTASH_REDIS_REST_URL, token, retry: false });
}

function uniqueKey(label: string): string {
  return `test:infra:${label}:${crypto.randomUUID()}`;
}

describe("Upstash REST bridge", () => {
  it("is where globalSetup says it is", () => {
    expect(inject("redisBridgeUrl")).toBe(bindings.UPSTASH_REDIS_REST_URL);
  });

  it("round-trips a hash with HSET and HGETALL", async () => {
    const redis = client();
    const key = uniqueKey("hash");
    expect(await redis.hset(key, { status: "PENDING", offer_id: "42", amount: "20.00" })).toBe(3);
    expect(await redis.hgetall(key)).toEqual({ status: "PENDING", offer_id: 42, amount: 20 });
    expect(await redis.hget<string>(key, "status")).toBe("PENDING");
    expect(await redis.hgetall(uniqueKey("missing"))).toBeNull();
    await redis.del(key);
  });

  it("runs a pipeline in order and reports per-command errors", async () => {
    const redis = client();
    const key = uniqueKey("pipe");
    const pipe = redis.pipeline();
    pipe.set(key, "1");
    pipe.incr(key);
    pipe.get(key);
    pipe.hset(key, { field: "x" }); // WRONGTYPE: the key holds a string
    const results = await pipe.exec({ keepErrors: true });
    expect(results.map((r) => r.result)).toEqual(["OK", 2, 2, undefined]);
    expect(results[3]?.error).toMatch(/^WRONGTYPE/);
    await redis.del(key);
  });

  it("runs a multi-exec transaction atomically", async () => {
    const redis = client();
    const key = uniqueKey("tx");
    const tx = redis.multi();
    tx.hset(key, { status: "PENDING" });
    tx.hset(key, { status: "ACTIVE", activated_at: "2026-11-22T10:00:00.000Z" });
    tx.expire(key, 60);
    tx.hgetall(key);
    expect(await tx.exec()).toEqual([1, 1, 1, { status: "ACTIVE", activated_at: "2026-11-22T10:00:00.000Z" }]);
    expect(await redis.ttl(key)).toBeGreaterThan(0);
    await redis.del(key);
  });

  it("the app's own client (plain JSON answers, no base64) keeps unicode and awkward strings intact", async () => {
    const redis = getRedis(bindings)!;
    const key = uniqueKey("plain");
    const values = { emoji: "gift 🎁 for Zoë", cjk: "優惠券", quotes: `it's "quoted" \\ back\\slash`, base64ish: "T0s=", control: "line1\nline2\ttab\u0000nul", status: "ACTIVE" };
    await redis.hset(key, values);
    // Without automatic deserialisation HGETALL answers Redis's own flat field/value list.
    const flat = (await redis.hgetall(key)) as unknown as string[];
    expect(Object.fromEntries(Array.from({ length: flat.length / 2 }, (_, i) => [flat[2 * i], flat[2 * i + 1]]))).toEqual(values);
    expect(getRedis(bindings)).toBe(redis);
    await redis.del(key);
  });

  it("keeps unicode and awkward strings intact through base64 encoding", async () => {
    const redis = client();
    const key = uniqueKey("utf8");
    const values = {
      emoji: "gift 🎁 for Zoë",
      cjk: "優惠券",
      quotes: `it's "quoted" \\ back\\slash`,
      ok: "OK",
      base64ish: "T0s=",
      control: "line1\nline2\ttab\u0000nul",
      json: JSON.stringify({ a: [1, "b"] }),
    };
    await redis.hset(key, values);
    for (const [field, value] of Object.entries(values)) {
      expect(await redis.hget(key, field), field).toEqual(field === "json" ? { a: [1, "b"] } : value);
    }
    await redis.set(`${key}:s`, "OK");
    expect(await redis.get(`${key}:s`)).toBe("OK");
    expect(await redis.ping()).toBe("PONG");
    await redis.del(key, `${key}:s`);
  });

  it("returns nil as null and integers as numbers", async () => {
    const redis = client();
    const key = uniqueKey("nil");
    expect(await redis.get(key)).toBeNull();
    expect(await redis.incrby(key, 5)).toBe(5);
    expect(await redis.exists(key)).toBe(1);
    await redis.del(key);
  });

  it("surfaces a Redis error as a rejected command", async () => {
    const redis = client();
    const key = uniqueKey("err");
    await redis.set(key, "not a number");
    await expect(redis.incr(key)).rejects.toThrow(/not an integer/);
    await redis.del(key);
  });

  it("refuses a wrong token with 401", async () => {
    await expect(client("wrong-token").get(uniqueKey("auth"))).rejects.toThrow(/Unauthorized/);
    const res = await fetch(bindings.UPSTASH_REDIS_REST_URL, {
      method: "POST",
      headers: { authorization: "Bearer wrong-token", "content-type": "application/json" },
      body: JSON.stringify(["PING"]),
    });
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({ error: "Unauthorized" });
  });

  it("runs Lua with EVAL, and EVALSHA after SCRIPT LOAD, against the real redis-server (the status cache's compare-and-set)", async () => {
    const redis = client();
    const key = uniqueKey("lua");
    const script = "redis.call('HSET', KEYS[1], 'status', ARGV[1]); return redis.call('HGET', KEYS[1], 'status')";
    expect(await redis.eval(script, [key], ["PENDING"])).toBe("PENDING");
    const sha = await redis.scriptLoad(script);
    expect(sha).toMatch(/^[0-9a-f]{40}$/);
    expect(await redis.evalsha(sha, [key], ["SUCCESS"])).toBe("SUCCESS");
    expect(await redis.hget<string>(key, "status")).toBe("SUCCESS");
    await expect(redis.evalsha("0".repeat(40), [key], [])).rejects.toThrow(/NOSCRIPT/);
    await redis.del(key);
  });
});
