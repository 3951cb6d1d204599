import { Hono } from "hono";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { AppBindings, Env } from "../../src/env";
import { renderError } from "../../src/app";
import { failureCharged, MAX_BLOCKED_CALLERS } from "../../src/middleware/rate-limit";
import { api } from "../helpers/api";
import { withinOneRateWindow } from "../helpers/rate-window";

describe("rate limits (the real AUTH_LIMITER binding: 20 registrations per minute per client)", () => {
  it("answers 429 with Retry-After once a client exceeds the register limit, and only that client", async () => {
    await withinOneRateWindow();
    const client = { "cf-connecting-ip": `203.0.113.${Math.floor(Math.random() * 250)}-${Date.now()}` };
    const register = (headers: Record<string, string>) => api("POST", "/api/v1/auth/register", { headers, body: { username: "x" } });
    const statuses: number[] = [];
    for (let i = 0; i < 20; i++) statuses.push((await register(client)).status);
    expect(new Set(statuses)).toEqual(new Set([400]));
    const limited = await register(client);
    expect(limited.status).toBe(429);
    expect(limited.headers.get("retry-after")).toBe("60");
    expect(limited.body.code).toBe("RATE_LIMITED");
    expect((await register({ "cf-connecting-ip": `another-${Date.now()}` })).status).toBe(400);
  });
});

describe("failureCharged: the per-isolate block after a refusal", () => {
  // A small app around the real middleware, with a binding that refuses every unit it is asked for
  // (as a used-up limiter does), so the block's window and bound can be driven directly.
  function tillApp() {
    const limit = failureCharged("SCAN_LIMITER", `unit-${crypto.randomUUID()}`);
    const asked: string[] = [];
    const refusing = { limit: async ({ key }: { key: string }) => (asked.push(key), { success: false }) } as unknown as RateLimit;
    const app = new Hono<AppBindings>();
    app.use("*", async (c, next) => {
      c.set("auth", { userId: Number(c.req.header("x-user")), role: "merchant", username: "u", tokenExpiresAt: 0 });
      await next();
    });
    app.use("/work", limit.refuseBlocked);
    app.post("/work", async (c) => c.json(await limit.run(c, async () => ({ done: true }), { answer: () => c.req.header("x-charged") === "1" })));
    app.onError((error) => renderError(error, "test"));
    const call = (user: number, charged: boolean) =>
      app.request("/work", { method: "POST", headers: { "x-user": String(user), "x-charged": charged ? "1" : "0" } }, { SCAN_LIMITER: refusing } as unknown as Env);
    return { call, asked };
  }

  afterEach(() => vi.useRealTimers());

  it("refuses a blocked caller's free requests without asking the binding, until the window has passed", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const { call, asked } = tillApp();
    expect((await call(1, false)).status).toBe(200);
    expect(asked).toHaveLength(0);
    const refused = await call(1, true);
    expect([refused.status, refused.headers.get("retry-after")]).toEqual([429, "60"]);
    expect(asked).toHaveLength(1);
    vi.advanceTimersByTime(59_000);
    expect((await call(1, false)).status).toBe(429);
    expect((await call(2, false)).status).toBe(200);
    expect(asked).toHaveLength(1);
    vi.advanceTimersByTime(1_001);
    expect((await call(1, false)).status).toBe(200);
  });

  it(`remembers at most ${MAX_BLOCKED_CALLERS} blocked callers, forgetting the oldest first`, async () => {
    const { call } = tillApp();
    for (let user = 1; user <= MAX_BLOCKED_CALLERS + 1; user++) expect((await call(user, true)).status).toBe(429);
    expect((await call(1, false)).status).toBe(200);
    expect((await call(2, false)).status).toBe(429);
    expect((await call(MAX_BLOCKED_CALLERS + 1, false)).status).toBe(429);
  });
});
