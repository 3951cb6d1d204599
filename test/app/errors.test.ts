import { env } from "cloudflare:workers";
import { createExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { app } from "../../src/index";
import { api, isCleanError } from "../helpers/api";
import { createUser } from "../helpers/factories";

describe("the one error shape", () => {
  it("answers an unknown route with 404 in the error shape and a request id", async () => {
    const res = await api("GET", "/api/v1/nowhere");
    expect(res.status).toBe(404);
    expect(res.body.code).toBe("NOT_FOUND");
    expect(res.body.request_id).toBe(res.headers.get("x-request-id"));
    expect(isCleanError(res.body)).toBe(true);
  });

  it("keeps a caller's well-formed request id", async () => {
    const res = await api("GET", "/api/v1/health/live", { headers: { "x-request-id": "trace-1234abcd" } });
    expect(res.headers.get("x-request-id")).toBe("trace-1234abcd");
  });

  it("answers malformed JSON with 400 and no parser internals", async () => {
    const res = await api("POST", "/api/v1/auth/login", { raw: "{not json", headers: { "content-type": "application/json" } });
    expect(res.status).toBe(400);
    expect(isCleanError(res.body)).toBe(true);
  });

  it("refuses bodies above the limit with 413", async () => {
    const res = await api("POST", "/api/v1/auth/login", { body: { username: "x".repeat(70_000), password: "y" } });
    expect(res.status).toBe(413);
    expect(res.body.code).toBe("PAYLOAD_TOO_LARGE");
  });

  it("accepts paths with and without a trailing slash", async () => {
    const user = await createUser();
    const plain = await api("GET", "/api/v1/auth/profile", { token: user.token });
    const slashed = await api("GET", "/api/v1/auth/profile/", { token: user.token });
    expect(plain.status).toBe(200);
    expect(slashed.status).toBe(200);
    expect(slashed.body.username).toBe(user.username);
  });

  it("serves /api/voucher/... as an alias of /api/v1/...", async () => {
    const user = await createUser();
    const res = await api("GET", "/api/voucher/auth/profile/", { token: user.token });
    expect(res.status).toBe(200);
    expect(res.body.id).toBe(user.id);
  });

  it("marks authenticated responses no-store", async () => {
    const user = await createUser();
    const res = await api("GET", "/api/v1/auth/profile", { token: user.token });
    expect(res.headers.get("cache-control")).toBe("no-store");
  });
});

describe("internal failures", () => {
  it("answer 500 in the one shape, without the driver's message, SQL or stack", async () => {
    const brokenDb = {
      prepare() {
        throw new Error("D1_ERROR: disk I/O error: SQLITE_IOERR at SELECT * FROM users");
      },
    } as unknown as D1Database;
    const res = await app.fetch(
      new Request("http://perks.test/api/v1/auth/login", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ username: "someone", password: "a-password" }),
      }),
      { ...env, DB: brokenDb },
      createExecutionContext(),
    );
    expect(res.status).toBe(500);
    const body = await res.json();
    expect(body).toMatchObject({ code: "INTERNAL_ERROR", error: "An unexpected error occurred. Please try again." });
    expect(isCleanError(body)).toBe(true);
  });
});
