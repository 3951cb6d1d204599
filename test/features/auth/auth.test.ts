import { env } from "cloudflare:workers";
import { SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import { REFRESH_GRACE_SECONDS } from "../../../src/features/auth/auth.service";
import { hashPassword, parsePasswordHash, PBKDF2_MAX_ITERATIONS } from "../../../src/lib/password";
import { api, isCleanError } from "../../helpers/api";
import { unique } from "../../helpers/factories";

const password = "a-long-enough-password";

async function register(overrides: Record<string, unknown> = {}) {
  const username = unique("reg");
  const res = await api("POST", "/api/v1/auth/register/", {
    body: { username, password, email: `${username}@example.test`, first_name: "Demo", last_name: "User", ...overrides },
  });
  return { username, res };
}

const sign = (claims: Record<string, unknown>, options: { secret?: string; alg?: string; kid?: string; exp?: number } = {}) =>
  new SignJWT({ typ: "access", role: "user", username: "x", ...claims })
    .setProtectedHeader({ alg: options.alg ?? "HS256", kid: options.kid ?? "k1" })
    .setSubject("1")
    .setIssuer((claims.iss as string) ?? env.JWT_ISSUER)
    .setAudience((claims.aud as string) ?? env.JWT_AUDIENCE)
    .setIssuedAt()
    .setExpirationTime(options.exp ?? Math.floor(Date.now() / 1000) + 600)
    .sign(new TextEncoder().encode(options.secret ?? env.JWT_SECRET));

describe("register, login, profile", () => {
  it("registers a user with role user and returns tokens that work", async () => {
    const { username, res } = await register();
    expect(res.status).toBe(201);
    expect(res.body.user).toMatchObject({ username, role: "user", first_name: "Demo" });
    const profile = await api("GET", "/api/v1/auth/profile/", { token: res.body.access });
    expect(profile.status).toBe(200);
    expect(profile.body.username).toBe(username);
  });

  it("refuses a taken username with 409", async () => {
    const { username } = await register();
    const again = await api("POST", "/api/v1/auth/register/", { body: { username, password } });
    expect(again.status).toBe(409);
    expect(again.body.code).toBe("USERNAME_TAKEN");
  });

  it("rejects unknown and server-owned fields instead of applying them", async () => {
    const { res } = await register({ role: "admin" });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe("VALIDATION_ERROR");
    expect(res.body.error).toContain("role");
    const profilePatch = await api("PATCH", "/api/v1/auth/profile", {
      token: (await register()).res.body.access,
      body: { balance: "1000.00" },
    });
    expect(profilePatch.status).toBe(400);
  });

  it("logs in at /auth/login and /auth/token (which also returns `token`)", async () => {
    const { username } = await register();
    const login = await api("POST", "/api/v1/auth/login/", { body: { username, password } });
    expect(login.status).toBe(200);
    expect(login.body).toHaveProperty("access");
    expect(login.body).toHaveProperty("refresh");
    const token = await api("POST", "/api/v1/auth/token/", { body: { username, password } });
    expect(token.status).toBe(200);
    expect(token.body.token).toBe(token.body.access);
    const check = await api("GET", "/api/v1/auth/token/check/", { headers: { authorization: `Token ${token.body.token}` } });
    expect(check.status).toBe(200);
    expect(check.body).toMatchObject({ valid: true, user: { username } });
  });

  it("answers an unknown user and a wrong password identically", async () => {
    const { username } = await register();
    const wrong = await api("POST", "/api/v1/auth/login", { body: { username, password: "not-the-password" } });
    const unknown = await api("POST", "/api/v1/auth/login", { body: { username: `${username}-nobody`, password } });
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    expect({ ...wrong.body, request_id: "" }).toEqual({ ...unknown.body, request_id: "" });
  });

  it("updates the caller's own profile fields, phone included", async () => {
    const { res } = await register();
    const patch = await api("PATCH", "/api/v1/auth/profile/", {
      token: res.body.access,
      body: { first_name: "Asha", phone: "+919876543210" },
    });
    expect(patch.status).toBe(200);
    expect(patch.body).toMatchObject({ first_name: "Asha", phone: "+919876543210" });
    const bad = await api("PATCH", "/api/v1/auth/profile/", { token: res.body.access, body: { phone: "12345" } });
    expect(bad.status).toBe(400);
  });
});

const claimsOf = (token: string) => JSON.parse(atob(token.split(".")[1]!.replace(/-/g, "+").replace(/_/g, "/")));

/** Moves a refresh token's first use back past the grace window. */
async function usedLongAgo(refresh: string) {
  const { jti } = claimsOf(refresh);
  const at = new Date(Date.now() - (REFRESH_GRACE_SECONDS + 5) * 1000).toISOString();
  const updated = await env.DB.prepare("UPDATE refresh_tokens SET used_at = ? WHERE jti = ?").bind(at, jti).run();
  expect(updated.meta.changes).toBe(1);
}

describe("refresh rotation and logout", () => {
  it("rotates: a refresh token works once and returns a new pair", async () => {
    const { res } = await register();
    const first = await api("POST", "/api/v1/auth/refresh/", { body: { refresh: res.body.refresh } });
    expect(first.status).toBe(200);
    expect(first.body.refresh).not.toBe(res.body.refresh);
    const second = await api("POST", "/api/v1/auth/refresh/", { body: { refresh: first.body.refresh } });
    expect(second.status).toBe(200);
  });

  it("revokes the whole family when a used refresh token is presented again after the grace window", async () => {
    const { res } = await register();
    const rotated = await api("POST", "/api/v1/auth/refresh", { body: { refresh: res.body.refresh } });
    expect(rotated.status).toBe(200);
    await usedLongAgo(res.body.refresh);
    const reuse = await api("POST", "/api/v1/auth/refresh", { body: { refresh: res.body.refresh } });
    expect(reuse.status).toBe(401);
    expect(reuse.body.code).toBe("TOKEN_REUSED");
    // The legitimately rotated token is dead too: the family is revoked.
    const after = await api("POST", "/api/v1/auth/refresh", { body: { refresh: rotated.body.refresh } });
    expect(after.status).toBe(401);
  });

  it("keeps the user signed in when one refresh token is presented many times at once (an app that retries)", async () => {
    const { res } = await register();
    const results = await Promise.all(
      Array.from({ length: 8 }, () => api("POST", "/api/v1/auth/refresh", { body: { refresh: res.body.refresh } })),
    );
    expect(results.map((r) => r.status)).toEqual(Array(8).fill(200));
    expect(new Set(results.map((r) => r.body.refresh)).size).toBe(8);
    // Every pair handed out works: none of them was revoked by the others.
    const next = await Promise.all(results.map((r) => api("POST", "/api/v1/auth/refresh", { body: { refresh: r.body.refresh } })));
    expect(next.map((r) => r.status)).toEqual(Array(8).fill(200));
    const row = await env.DB.prepare("SELECT COUNT(*) AS n, COUNT(revoked_at) AS revoked FROM refresh_tokens WHERE family_id = ?")
      .bind(claimsOf(res.body.refresh).fam)
      .first<{ n: number; revoked: number }>();
    expect(row).toEqual({ n: 17, revoked: 0 });
  });

  it("lets a used token be presented again within the grace window only while the session lives", async () => {
    const { res } = await register();
    const rotated = await api("POST", "/api/v1/auth/refresh", { body: { refresh: res.body.refresh } });
    expect(rotated.status).toBe(200);
    const again = await api("POST", "/api/v1/auth/refresh", { body: { refresh: res.body.refresh } });
    expect(again.status).toBe(200);
    const out = await api("POST", "/api/v1/auth/logout", { body: { refresh: again.body.refresh } });
    expect(out.status).toBe(200);
    const afterLogout = await api("POST", "/api/v1/auth/refresh", { body: { refresh: res.body.refresh } });
    expect(afterLogout.status).toBe(401);
  });

  it("logout ends the session: its refresh token no longer works", async () => {
    const { res } = await register();
    const out = await api("POST", "/api/v1/auth/logout/", { body: { refresh: res.body.refresh } });
    expect(out.status).toBe(200);
    const refresh = await api("POST", "/api/v1/auth/refresh/", { body: { refresh: res.body.refresh } });
    expect(refresh.status).toBe(401);
  });
});

describe("token verification refuses every bad token with 401", () => {
  const profile = (token: string) => api("GET", "/api/v1/auth/profile", { token });

  it("accepts a well-formed token (control)", async () => {
    const { res } = await register();
    expect((await profile(res.body.access)).status).toBe(200);
  });

  it.each([
    ["alg none", async () => `${btoa(JSON.stringify({ alg: "none", typ: "JWT" })).replace(/=+$/, "")}.${btoa(JSON.stringify({ sub: "1", typ: "access", iss: env.JWT_ISSUER, aud: env.JWT_AUDIENCE, exp: 9999999999, iat: 1 })).replace(/=+$/, "")}.`],
    ["another algorithm (HS512)", () => sign({}, { alg: "HS512" })],
    ["another key", () => sign({}, { secret: "some-other-secret-that-is-long-enough-000" })],
    ["an unknown kid", () => sign({}, { kid: "k9" })],
    ["expired", () => sign({}, { exp: Math.floor(Date.now() / 1000) - 10 })],
    ["wrong issuer", () => sign({ iss: "someone-else" })],
    ["wrong audience", () => sign({ aud: "another-api" })],
    ["a refresh token", () => sign({ typ: "refresh" })],
  ])("%s", async (_name, make) => {
    const res = await profile(await make());
    expect(res.status).toBe(401);
    expect(isCleanError(res.body)).toBe(true);
  });

  it("refuses an access token presented as a refresh token", async () => {
    const { res } = await register();
    const refresh = await api("POST", "/api/v1/auth/refresh", { body: { refresh: res.body.access } });
    expect(refresh.status).toBe(401);
  });

  it("requires a token on protected routes", async () => {
    const res = await api("GET", "/api/v1/auth/profile");
    expect(res.status).toBe(401);
    expect(res.body.code).toBe("UNAUTHENTICATED");
  });
});

describe("password hashing", () => {
  it("stores PBKDF2-SHA256 within the Workers limit of 100,000 iterations, with a per-user salt", async () => {
    const a = await register();
    const b = await register();
    const rows = await env.DB.prepare("SELECT password_hash FROM users WHERE username IN (?, ?)")
      .bind(a.username, b.username)
      .all<{ password_hash: string }>();
    const parsed = rows.results.map((r) => parsePasswordHash(r.password_hash)!);
    for (const p of parsed) expect(p.iterations).toBeLessThanOrEqual(100_000);
    expect(parsed[0]!.salt).not.toEqual(parsed[1]!.salt);
  });

  it("refuses to hash above the limit", async () => {
    await expect(hashPassword("x".repeat(12), PBKDF2_MAX_ITERATIONS + 1)).rejects.toThrow();
  });
});
