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

describe("the OpenAPI document says what the code does", () => {
  const operations = async () => {
    const { body } = await api("GET", "/api/openapi.json");
    const ops = Object.entries(body.paths as Record<string, Record<string, any>>).flatMap(([path, item]) =>
      Object.entries(item).map(([method, op]) => ({ method, path, op })),
    );
    return { doc: body, ops, find: (method: string, path: string) => body.paths[path][method] };
  };

  it("gives every operation a unique operationId and a tag described at the top level", async () => {
    const { doc, ops } = await operations();
    const ids = ops.map(({ op }) => op.operationId);
    expect(ids.every((id) => typeof id === "string" && /^[a-z][A-Za-z0-9]+$/.test(id))).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    const described = new Map((doc.tags as { name: string; description: string }[]).map((t) => [t.name, t.description]));
    const untagged = ops.filter(({ op }) => !op.tags?.length || !described.get(op.tags[0])).map(({ method, path }) => `${method} ${path}`);
    expect(untagged).toEqual([]);
    expect(doc.paths["/api/v1/offers/{offer_id}"].get.operationId).toBe("getOffersByOfferId");
  });

  it("declares per-operation security: none, optional or bearer, and no global API key", async () => {
    const { doc, find } = await operations();
    expect(doc.security).toBeUndefined();
    expect(find("post", "/api/v1/auth/login").security).toEqual([]);
    expect(find("get", "/api/v1/health/live").security).toEqual([]);
    // Health takes an optional token (an admin's shows the detail) but never refuses one.
    const health = find("get", "/api/v1/health");
    expect(health.security).toEqual([{}, { bearerAuth: [] }]);
    expect(Object.keys(health.responses).sort()).toEqual(["200", "500"]);
    expect(health.responses["200"].content["application/json"].schema.anyOf).toEqual([{ $ref: "#/components/schemas/HealthPublic" }, { $ref: "#/components/schemas/Health" }]);
    expect(health.parameters.map((p: any) => p.name)).toContain("x-api-key");
    expect(find("get", "/api/v1/public-vouchers").security).toEqual([{}, { bearerAuth: [] }]);
    expect(find("get", "/api/v1/account").security).toEqual([{ bearerAuth: [] }]);
    expect(doc.components.securitySchemes.bearerAuth.description).toContain("Authorization: Token");
    // X-API-Key is a header every API call may carry; health, docs and media are exempt.
    const params = (op: any) => op.parameters.map((p: any) => p.$ref ?? p.name);
    expect(params(find("get", "/api/v1/account"))).toContain("#/components/parameters/ApiKey");
    expect(params(find("get", "/api/v1/health"))).not.toContain("#/components/parameters/ApiKey");
  });

  it("declares the headers middleware reads and sets, and the statuses it can answer", async () => {
    const { ops, find } = await operations();
    const purchase = find("post", "/api/v1/voucher-purchase/purchase");
    expect(purchase.parameters).toContainEqual({ $ref: "#/components/parameters/IdempotencyKey" });
    expect(Object.keys(purchase.responses)).toEqual(expect.arrayContaining(["400", "401", "409", "413", "415", "422", "500"]));
    expect(purchase.responses["201"].headers["Idempotent-Replayed"]).toBeDefined();

    const login = find("post", "/api/v1/auth/login");
    expect(login.responses["429"].headers["Retry-After"]).toEqual({ $ref: "#/components/headers/RetryAfter" });
    expect(find("post", "/api/v1/notifications/bulk").responses["429"]).toBeDefined();
    expect(find("put", "/api/v1/admin/settings")?.responses["403"] ?? find("patch", "/api/v1/admin/settings")?.responses["403"]).toBeDefined();

    const partner = find("post", "/api/v1/partner/callback");
    expect(partner.parameters).toEqual(
      expect.arrayContaining(["PartnerTimestamp", "PartnerNonce", "PartnerSignature"].map((name) => ({ $ref: `#/components/parameters/${name}` }))),
    );

    const withoutRequestId = ops.flatMap(({ method, path, op }) =>
      Object.entries(op.responses as Record<string, any>).filter(([, r]) => !r.headers?.["X-Request-Id"]).map(([s]) => `${method} ${path} ${s}`),
    );
    expect(withoutRequestId).toEqual([]);
  });
});
