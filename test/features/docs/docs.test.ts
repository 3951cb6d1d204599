import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { SCALAR_SCRIPT_PATH } from "../../../src/features/docs/docs.routes";
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

  it("serves interactive docs whose script comes from this origin", async () => {
    const res = await api("GET", "/api/docs");
    expect(res.status).toBe(200);
    const html = String(res.body);
    expect(html).toContain("/api/openapi.json");
    expect(html).toContain(`<script src="${SCALAR_SCRIPT_PATH}">`);
    // No script, stylesheet or font from another origin.
    expect(html.match(/(?:src|href)="(?:https?:)?\/\/[^"]*"/g) ?? []).toEqual([]);
  });

  it("serves the docs script from the static assets", async () => {
    const res = await env.ASSETS!.fetch(new Request(`https://assets.local${SCALAR_SCRIPT_PATH}`));
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("javascript");
    expect((await res.text()).length).toBeGreaterThan(100_000);
  });
});
