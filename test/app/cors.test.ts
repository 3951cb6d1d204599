import { env } from "cloudflare:workers";
import { createExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { app } from "../../src/index";
import { BASE } from "../helpers/api";

const preflight = (origin: string, corsOrigins: string) =>
  app.fetch(
    new Request(`${BASE}/api/v1/auth/login`, {
      method: "OPTIONS",
      headers: { origin, "access-control-request-method": "POST", "access-control-request-headers": "content-type,idempotency-key" },
    }),
    { ...env, CORS_ORIGINS: corsOrigins },
    createExecutionContext(),
  );

describe("CORS (CORS_ORIGINS)", () => {
  it("allows a configured origin, with the headers clients send", async () => {
    const res = await preflight("https://app.example", "https://app.example, https://admin.example");
    expect(res.headers.get("access-control-allow-origin")).toBe("https://app.example");
    expect(res.headers.get("access-control-allow-headers")?.toLowerCase()).toContain("idempotency-key");
  });

  it("does not allow an origin that is not configured", async () => {
    const res = await preflight("https://evil.example", "https://app.example");
    expect(res.headers.get("access-control-allow-origin")).not.toBe("https://evil.example");
  });

  it("sends no CORS headers when CORS_ORIGINS is empty", async () => {
    const res = await preflight("https://app.example", "");
    expect(res.headers.get("access-control-allow-origin")).toBeNull();
  });
});
