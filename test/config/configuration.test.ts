import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { checkConfiguration, CONFIG_DEFAULTS } from "../../src/config";
import type { Env } from "../../src/env";
import worker from "../../src/index";
import { createApiKey, createUser } from "../helpers/factories";

/** The whole worker with another env, as `wrangler dev` without .dev.vars would run it. */
async function call(customEnv: Env, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const ctx = createExecutionContext();
  const response = await worker.fetch(
    new Request(`http://perks.test${path}`, {
      method,
      headers: { "content-type": "application/json", "cf-connecting-ip": `198.51.100.${Math.floor(Math.random() * 250)}`, ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    }),
    customEnv,
    ctx,
  );
  await waitOnExecutionContext(ctx);
  return { status: response.status, body: (await response.json()) as any };
}

afterEach(() => vi.restoreAllMocks());

describe("configuration checked once at the entry", () => {
  it("names every missing or malformed value, never its content, and fills defaults", () => {
    const { env: checked, problems } = checkConfiguration({
      ...env,
      JWT_SECRET: "",
      ACCESS_TOKEN_TTL_SECONDS: "fifteen minutes",
      REQUIRE_API_KEY: "yes",
      PUBLIC_BASE_URL: "not a url",
      SIGNUP_BONUS: undefined,
    } as unknown as Env);
    expect(problems).toEqual([
      expect.stringMatching(/^JWT_SECRET is required/),
      "ACCESS_TOKEN_TTL_SECONDS must be a positive whole number",
      expect.stringMatching(/^REQUIRE_API_KEY /),
      "PUBLIC_BASE_URL must be an http(s) URL",
    ]);
    expect(problems.join(" ")).not.toContain("fifteen");
    expect(checked.ACCESS_TOKEN_TTL_SECONDS).toBe(CONFIG_DEFAULTS.ACCESS_TOKEN_TTL_SECONDS);
    expect(checked.REQUIRE_API_KEY).toBe("false");
    expect(checked.SIGNUP_BONUS).toBe("0.00");
  });

  it("an env layered on another (the per-request env) has its values and problems, checked or not", () => {
    const raw = { ...env, REQUIRE_API_KEY: "yes" } as unknown as Env;
    const unchecked = Object.create(raw) as Env;
    expect(checkConfiguration(unchecked).problems).toEqual([expect.stringMatching(/^REQUIRE_API_KEY /)]);
    expect(checkConfiguration(unchecked).env.JWT_SECRET).toBe(env.JWT_SECRET);
    const checked = checkConfiguration(raw);
    const layered = Object.create(Object.create(checked.env)) as Env;
    expect(checkConfiguration(layered).problems).toBe(checked.problems);
    expect(checkConfiguration(layered).env.REQUIRE_API_KEY).toBe("false");
  });

  it("accepts the test configuration as it is", () => {
    expect(checkConfiguration(env as unknown as Env).problems).toEqual([]);
  });

  it("without JWT_SECRET: one log line, health says misconfigured, auth answers 503 MISCONFIGURED", async () => {
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    const bare = { ...env, JWT_SECRET: "" } as unknown as Env;

    // Anyone sees that it is misconfigured, not what is missing; an API key sees the names (a
    // token cannot be checked without JWT_SECRET, and sending one does not make health fail).
    const health = await call(bare, "GET", "/api/v1/health");
    expect(health.status).toBe(200);
    expect(health.body).toEqual({ status: "misconfigured", timestamp: expect.any(String) });
    const admin = await createUser({ role: "admin" });
    const withToken = await call(bare, "GET", "/api/v1/health", undefined, { authorization: `Bearer ${admin.token}` });
    expect(withToken.status).toBe(200);
    expect(withToken.body).toEqual({ status: "misconfigured", timestamp: expect.any(String) });
    const detailed = await call(bare, "GET", "/api/v1/health", undefined, { "x-api-key": await createApiKey() });
    expect(detailed.body.status).toBe("misconfigured");
    expect(detailed.body.components.configuration.problems).toEqual([expect.stringMatching(/^JWT_SECRET is required/)]);

    const username = `cfg${Date.now()}`;
    const register = await call(bare, "POST", "/api/v1/auth/register", { username, password: "a-long-password-1", email: `${username}@example.com` });
    expect(register.status).toBe(503);
    expect(register.body).toMatchObject({ code: "MISCONFIGURED", error: expect.stringContaining("JWT_SECRET") });
    // Refused before any work: no account was left behind that could never sign in.
    expect(await env.DB.prepare("SELECT id FROM users WHERE username = ?").bind(username).first()).toBeNull();
    for (const [method, path, body] of [
      ["POST", "/api/v1/auth/login", { username: "nobody-here", password: "a-long-password-1" }],
      ["POST", "/api/v1/auth/token", { username: "nobody-here", password: "a-long-password-1" }],
      ["GET", "/api/v1/auth/profile", undefined],
      ["GET", "/api/voucher/auth/profile", undefined],
    ] as const) {
      const answer = await call(bare, method, path, body);
      expect(answer.status, path).toBe(503);
      expect(answer.body, path).toMatchObject({ code: "MISCONFIGURED", error: expect.stringContaining("JWT_SECRET"), request_id: expect.any(String) });
    }

    const lines = errors.mock.calls.map((args) => String(args[0])).filter((line) => line.includes("configuration invalid"));
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({ level: "error", problems: [expect.stringMatching(/^JWT_SECRET/)] });
  });

  it("with a database whose migrations were never applied: 503 MISCONFIGURED naming the fix, not a 500", async () => {
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    // The real driver's error for a missing table, thrown by every statement as an empty database would.
    const missing = await env.DB.prepare("SELECT * FROM no_such_table_here").all().then(
      () => null,
      (error: unknown) => error,
    );
    expect(String(missing)).toMatch(/no such table/);
    const fail = () => Promise.reject(missing);
    const statement = { bind: () => statement, all: fail, first: fail, run: fail, raw: fail };
    const empty: Record<string, unknown> = { prepare: () => statement, batch: fail, exec: fail, getBookmark: () => null };
    empty.withSession = () => empty;
    const unmigrated = { ...env, DB: empty } as unknown as Env;

    for (const [method, path, body] of [
      ["POST", "/api/v1/auth/login", { username: "nobody-here", password: "a-long-password-1" }],
      ["GET", "/api/v1/categories", undefined],
    ] as const) {
      const answer = await call(unmigrated, method, path, body);
      expect(answer.status, path).toBe(503);
      expect(answer.body, path).toMatchObject({ code: "MISCONFIGURED", error: expect.stringContaining("migrations"), request_id: expect.any(String) });
      // The fix, never the driver's text or the SQL.
      expect(JSON.stringify(answer.body), path).not.toMatch(/no_such_table_here|SELECT|D1_ERROR|SQLITE/);
    }
    expect(errors.mock.calls.map((args) => String(args[0])).some((line) => line.includes("database schema missing"))).toBe(true);

    // Health says so too, where before it called such a database ok.
    const health = await call(unmigrated, "GET", "/api/v1/health");
    expect(health.body).toEqual({ status: "misconfigured", timestamp: expect.any(String) });
  });
});
