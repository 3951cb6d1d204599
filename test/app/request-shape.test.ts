import { describe, expect, it } from "vitest";
import { api, isCleanError } from "../helpers/api";
import { createUser, unique } from "../helpers/factories";
import { insertMerchant } from "../helpers/voucher-factories";

const form = (fields: Record<string, string>) => ({
  raw: new URLSearchParams(fields).toString(),
  headers: { "content-type": "application/x-www-form-urlencoded" },
});

describe("bodies that are not JSON on JSON routes", () => {
  it("refuses a form-encoded POST to /vouchers with 415, not 500", async () => {
    const merchant = await insertMerchant();
    const res = await api("POST", "/api/v1/vouchers", { token: merchant.user.token, ...form({ title: "Ten off", voucher_type: "2" }) });
    expect(res.status).toBe(415);
    expect(res.body.code).toBe("UNSUPPORTED_MEDIA_TYPE");
    expect(res.headers.get("accept")).toBeNull();
    expect(isCleanError(res.body)).toBe(true);
  });

  it("refuses a form-encoded PATCH instead of silently ignoring its fields", async () => {
    const user = await createUser();
    const res = await api("PATCH", "/api/v1/auth/profile", { token: user.token, ...form({ first_name: "Changed" }) });
    expect(res.status).toBe(415);
    expect(res.body.error).toMatch(/application\/json/);
    const profile = await api("GET", "/api/v1/auth/profile", { token: user.token });
    expect(profile.body.first_name).toBe("Test");
  });

  it("refuses a text/plain login with 415 and says which type it wants", async () => {
    const res = await api("POST", "/api/v1/auth/login", { raw: '{"username":"a","password":"b"}', headers: { "content-type": "text/plain" } });
    expect(res.status).toBe(415);
    expect(res.body.error).toMatch(/application\/json/);
  });

  it("still accepts multipart where a route documents it", async () => {
    const merchant = await insertMerchant();
    const body = new FormData();
    body.set("title", "x");
    const res = await api("POST", "/api/v1/vouchers", { token: merchant.user.token, raw: body });
    expect(res.status).not.toBe(415);
    expect(res.status).toBeLessThan(500);
  });
});

describe("empty and wrongly typed bodies", () => {
  it("answers PATCH /categories/{id} with {} without a 500 and leaves it unchanged", async () => {
    const admin = await createUser({ role: "admin" });
    const name = unique("cat");
    const created = await api("POST", "/api/v1/categories", { token: admin.token, body: { name } });
    expect(created.status).toBe(201);
    const res = await api("PATCH", `/api/v1/categories/${created.body.id}`, { token: admin.token, body: {} });
    expect(res.status).toBe(200);
    expect(res.body.name).toBe(name);
  });

  it("reports a wrong type as a wrong type, not as missing", async () => {
    const res = await api("POST", "/api/v1/auth/register", { body: { username: 123, password: "long-enough-password" } });
    expect(res.status).toBe(400);
    expect(res.body.error).not.toMatch(/required/);
    expect(res.body.error).toMatch(/username/);
    expect(res.body.error).toMatch(/string/);
    expect(res.body.error).toMatch(/number/);
  });

  it("still says a missing field is required", async () => {
    const res = await api("POST", "/api/v1/auth/register", { body: { password: "long-enough-password" } });
    expect(res.status).toBe(400);
    expect(res.body.error).toBe("username is required");
  });
});

describe("a wrong method on an existing path", () => {
  it("answers 405 in the error shape with Allow", async () => {
    const res = await api("DELETE", "/api/v1/auth/login");
    expect(res.status).toBe(405);
    expect(res.body.code).toBe("METHOD_NOT_ALLOWED");
    expect(res.headers.get("allow")).toBe("POST");
    expect(isCleanError(res.body)).toBe(true);
  });

  it("lists every method a parameterised path answers, through the alias and a trailing slash too", async () => {
    const res = await api("PUT", "/api/voucher/categories/12/");
    expect(res.status).toBe(405);
    expect(res.headers.get("allow")?.split(", ").sort()).toEqual(["DELETE", "PATCH"]);
  });

  it("keeps 404 for a path nothing serves", async () => {
    const res = await api("DELETE", "/api/v1/no-such-thing");
    expect(res.status).toBe(404);
    expect(res.body.code).toBe("NOT_FOUND");
    expect(res.headers.get("allow")).toBeNull();
    expect(isCleanError(res.body)).toBe(true);
  });
});
