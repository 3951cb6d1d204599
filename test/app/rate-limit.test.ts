import { describe, expect, it } from "vitest";
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
