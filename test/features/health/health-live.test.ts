import { createExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { Env } from "../../../src/env";
import worker, { app } from "../../../src/index";
import { BASE } from "../../helpers/api";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Status, headers (a generated request id shown as <generated>) and body text of one answer. */
async function shape(response: Response, sentId: string | undefined) {
  const headers = [...response.headers].map(([name, value]) => {
    if (name !== "x-request-id" || value === sentId) return [name, value];
    expect(value).toMatch(UUID);
    return [name, "<generated>"];
  });
  return { status: response.status, headers: headers.sort(), body: await response.text() };
}

const request = (method: string, path: string, headers: Record<string, string> = {}) =>
  new Request(`${BASE}${path}`, { method, headers }) as Request<unknown, IncomingRequestCfProperties>;

describe("liveness answered before the app", () => {
  it("answers exactly what the app's route answers: status, every header, body", async () => {
    const cases: [string, string, Record<string, string>][] = [
      ["GET", "/api/v1/health/live", {}],
      ["GET", "/api/v1/health/live/", {}],
      ["GET", "/api/v1/health/live?probe=1", {}],
      ["HEAD", "/api/v1/health/live", {}],
      ["GET", "/api/v1/health/live", { "x-request-id": "lb-check-0001" }],
      // Not a well-formed id (too long, or a character outside A-Za-z0-9_=-): a new one, as in the app.
      ["GET", "/api/v1/health/live", { "x-request-id": "x".repeat(65) }],
      ["GET", "/api/v1/health/live", { "x-request-id": "bad id!" }],
      ["GET", "/api/v1/health/live", { authorization: "Bearer not-a-token" }],
    ];
    for (const [method, path, headers] of cases) {
      const sentId = headers["x-request-id"];
      const early = await shape(await worker.fetch(request(method, path, headers), env as Env, createExecutionContext()), sentId);
      const routed = await shape(await app.fetch(request(method, path, headers), env as Env, createExecutionContext()), sentId);
      expect([method, path, headers, early]).toEqual([method, path, headers, routed]);
      expect(early.status).toBe(200);
    }
  });

  it("leaves requests whose answer the middleware shapes to the app: CORS for an Origin, a bookmark to echo", async () => {
    const cors = { ...env, CORS_ORIGINS: "https://till.example" } as Env;
    const withOrigin = await worker.fetch(request("GET", "/api/v1/health/live", { origin: "https://till.example" }), cors, createExecutionContext());
    expect(withOrigin.status).toBe(200);
    expect(withOrigin.headers.get("access-control-allow-origin")).toBe("https://till.example");
    expect(withOrigin.headers.get("access-control-expose-headers")).toContain("X-Request-Id");

    const bookmark = "00000001-00000002-00004f6b-" + "a".repeat(32);
    const echoed = await worker.fetch(request("GET", "/api/v1/health/live", { "x-d1-bookmark": bookmark }), env as Env, createExecutionContext());
    expect(echoed.headers.get("x-d1-bookmark")).toBe(bookmark);
  });

  it("answers only liveness early: other methods and paths are the app's (405, 404)", async () => {
    const post = await worker.fetch(request("POST", "/api/v1/health/live"), env as Env, createExecutionContext());
    expect(post.status).toBe(405);
    const near = await worker.fetch(request("GET", "/api/v1/health/lively"), env as Env, createExecutionContext());
    expect(near.status).toBe(404);
  });
});
