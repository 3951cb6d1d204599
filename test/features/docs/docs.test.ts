import { describe, expect, it } from "vitest";
import { app } from "../../../src/index";
import { api } from "../../helpers/api";

/** Hono's "/a/:id/b" to OpenAPI's "/a/{id}/b". */
const toOpenApiPath = (path: string) => path.replace(/:(\w+)/g, "{$1}").replace(/\/$/, "") || "/";

describe("API docs", () => {
  it("serves an OpenAPI 3.1 document with bearer security and the error schema", async () => {
    const res = await api("GET", "/api/openapi.json");
    expect(res.status).toBe(200);
    expect(res.body.openapi).toBe("3.1.0");
    expect(res.body.components.securitySchemes.bearerAuth).toMatchObject({ type: "http", scheme: "bearer" });
    expect(res.body.components.schemas.Error).toBeDefined();
  });

  it("lists every API route the app serves", async () => {
    const { body } = await api("GET", "/api/openapi.json");
    const documented = new Set<string>();
    for (const [path, item] of Object.entries(body.paths as Record<string, Record<string, unknown>>))
      for (const method of Object.keys(item)) documented.add(`${method.toUpperCase()} ${toOpenApiPath(path)}`);
    const served = app.routes
      .filter((r) => r.method !== "ALL" && (r.path.startsWith("/api/v1") || r.path.startsWith("/health")))
      .map((r) => `${r.method} ${toOpenApiPath(r.path)}`);
    expect(served.length).toBeGreaterThan(10);
    expect(served.filter((route) => !documented.has(route))).toEqual([]);
  });

  it("documents security and error responses on protected routes", async () => {
    const { body } = await api("GET", "/api/openapi.json");
    const profile = body.paths["/api/v1/auth/profile"].get;
    expect(profile.security).toEqual([{ bearerAuth: [] }]);
    expect(profile.responses["401"]).toBeDefined();
  });

  it("serves interactive docs", async () => {
    const res = await api("GET", "/api/docs");
    expect(res.status).toBe(200);
    expect(String(res.body)).toContain("/api/openapi.json");
  });
});
