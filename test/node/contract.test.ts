// The contract: the demo's flows (every flow of the API, through the typed client) run against
// the local worker, and every answer must be one the OpenAPI document declares: a documented
// status for that operation, and a JSON body that validates against its schema.
import Ajv2020 from "ajv/dist/2020.js";
import { describe, expect, inject, it } from "vitest";
import { createClient, createSteps } from "../../scripts/demo/client.mjs";
import * as flows from "../../scripts/demo/flows.mjs";

type Json = Record<string, any>;

function contract(doc: Json) {
  const ajv = new Ajv2020({ strict: false, validateFormats: false, allErrors: false });
  const operations = Object.entries(doc.paths as Record<string, Json>)
    .map(([path, item]) => ({ path, item, params: (path.match(/\{/g) ?? []).length, pattern: new RegExp(`^${path.replace(/\{[^}]+\}/g, "[^/]+")}$`) }))
    .sort((a, b) => a.params - b.params);
  const validators = new Map<string, ReturnType<typeof ajv.compile>>();
  const violations: string[] = [];
  const seen = new Set<string>();

  function check(method: string, rawPath: string, result: { status: number; body: unknown; headers: Headers }) {
    const path = rawPath.split("?")[0]!.replace(/^\/api\/voucher\//, "/api/v1/").replace(/(.)\/+$/, "$1");
    const operation = operations.find((o) => o.pattern.test(path) && o.item[method.toLowerCase()]);
    const where = `${method} ${rawPath} -> ${result.status}`;
    if (!operation) return void violations.push(`${where}: no documented operation`);
    const op = operation.item[method.toLowerCase()];
    seen.add(`${method.toUpperCase()} ${operation.path}`);
    const response = op.responses[String(result.status)];
    if (!response) return void violations.push(`${where}: status not documented for ${op.operationId}`);
    if (!result.headers.get("x-request-id")) violations.push(`${where}: no X-Request-Id`);
    const declaredHeaders = Object.keys(response.headers ?? {}).map((name) => name.toLowerCase());
    if (result.headers.get("x-d1-bookmark") && !declaredHeaders.includes("x-d1-bookmark")) violations.push(`${where}: X-D1-Bookmark not declared`);
    const schema = response.content?.["application/json"]?.schema;
    if (!schema || typeof result.body !== "object" || result.body === null) return;
    const key = `${op.operationId}:${result.status}`;
    let validate = validators.get(key);
    if (!validate) {
      validate = ajv.compile({ ...schema, components: doc.components });
      validators.set(key, validate);
    }
    if (!validate(result.body)) violations.push(`${where}: ${ajv.errorsText(validate.errors, { dataVar: "body" })}`);
  }
  return { check, violations, seen };
}

describe("contract: the API answers what its OpenAPI document declares", () => {
  it("runs the demo's flows and every answer matches the document", { timeout: 240_000 }, async () => {
    const base = inject("workerUrl");
    const doc = await (await fetch(`${base}/api/openapi.json`)).json();
    const { check, violations, seen } = contract(doc);
    const { step, section, tally } = createSteps();
    const ctx = { call: createClient(base, { onResponse: check }), step, section, s: { run: `c${Date.now().toString(36)}` } };
    await flows.health(ctx);
    for (const flow of [flows.auth, flows.offers, flows.vouchers, flows.giftCards, flows.advertisements, flows.customersOrders, flows.notifications, flows.healthAgain]) await flow(ctx);

    expect({ failed: tally.failed, skipped: tally.skipped }).toEqual({ failed: 0, skipped: 0 });
    expect(tally.passed).toBeGreaterThan(30);
    expect(violations).toEqual([]);
    // Representative: a good part of the document was exercised.
    expect(seen.size).toBeGreaterThan(40);
  });
});

describe("the deploy bundle validates like the tested source", () => {
  // The bundle's zod is wrangler.toml's [alias] (zod without its translations); the workerd suite
  // runs the source with zod itself, so the bundle's error messages are checked here, on the bundle.
  it("reports a wrong type as a wrong type, a missing field as required, in the error shape", async () => {
    const base = inject("workerUrl");
    const post = async (body: unknown) => {
      const res = await fetch(`${base}/api/v1/auth/register`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
      return { status: res.status, body: (await res.json()) as Json };
    };
    const wrongType = await post({ username: 123, password: "long-enough-password" });
    expect(wrongType.status).toBe(400);
    expect(wrongType.body).toMatchObject({ code: expect.any(String), request_id: expect.any(String) });
    expect(wrongType.body.error).toMatch(/username/);
    expect(wrongType.body.error).toMatch(/string/);
    expect(wrongType.body.error).not.toMatch(/required/);
    const missing = await post({ password: "long-enough-password" });
    expect([missing.status, missing.body.error]).toEqual([400, "username is required"]);
  });
});

describe("the contract check itself", () => {
  it("catches an undocumented status, a body off its schema and an unknown operation", async () => {
    const doc = await (await fetch(`${inject("workerUrl")}/api/openapi.json`)).json();
    const { check, violations } = contract(doc);
    const headers = new Headers({ "x-request-id": "r-1" });
    check("GET", "/api/v1/health/live", { status: 200, body: { status: "ok" }, headers });
    expect(violations).toEqual([]);
    check("GET", "/api/v1/health/live", { status: 418, body: {}, headers });
    check("GET", "/api/v1/health", { status: 200, body: { status: 42 }, headers });
    check("GET", "/api/v1/nowhere", { status: 200, body: {}, headers });
    expect(violations).toEqual([
      expect.stringContaining("status not documented"),
      expect.stringMatching(/^GET \/api\/v1\/health -> 200: body/),
      expect.stringContaining("no documented operation"),
    ]);
  });

  it("catches an X-D1-Bookmark the document does not declare; the document declares it on every operation", async () => {
    const doc = await (await fetch(`${inject("workerUrl")}/api/openapi.json`)).json();
    const { check, violations } = contract(doc);
    const headers = new Headers({ "x-request-id": "r-1", "x-d1-bookmark": `00000001-00000002-00000003-${"0".repeat(32)}` });
    check("GET", "/api/v1/health/live", { status: 200, body: { status: "ok" }, headers });
    expect(violations).toEqual([]);
    delete doc.paths["/api/v1/health/live"].get.responses["200"].headers["X-D1-Bookmark"];
    check("GET", "/api/v1/health/live", { status: 200, body: { status: "ok" }, headers });
    expect(violations).toEqual([expect.stringContaining("X-D1-Bookmark not declared")]);

    const fresh = await (await fetch(`${inject("workerUrl")}/api/openapi.json`)).json();
    const missing: string[] = [];
    let operations = 0;
    for (const [path, item] of Object.entries(fresh.paths as Record<string, Json>)) {
      for (const [method, op] of Object.entries(item) as [string, Json][]) {
        if (!op?.responses) continue;
        operations++;
        if (!op.parameters?.some((p: Json) => p.$ref === "#/components/parameters/D1Bookmark")) missing.push(`${method} ${path}: request header`);
        for (const [status, response] of Object.entries(op.responses as Record<string, Json>)) {
          if (status !== "101" && !response.headers?.["X-D1-Bookmark"]) missing.push(`${method} ${path} ${status}: response header`);
        }
      }
    }
    expect(operations).toBeGreaterThan(50);
    expect(missing).toEqual([]);
    expect(fresh.components.parameters.D1Bookmark).toMatchObject({ name: "X-D1-Bookmark", in: "header", required: false });
  });
});
