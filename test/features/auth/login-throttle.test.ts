import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ACCOUNT_FAILURE_LIMIT, ADDRESS_FAILURE_LIMIT } from "../../../src/features/auth/login-throttle";
import { clientAddressKey, ipv6Prefix64 } from "../../../src/lib/client-address";
import { api } from "../../helpers/api";
import { createUser, DEFAULT_PASSWORD, unique } from "../../helpers/factories";
import { withinOneRateWindow } from "../../helpers/rate-window";

const login = (username: string, password: string, ip: string) =>
  api("POST", "/api/v1/auth/login", { body: { username, password }, headers: { "cf-connecting-ip": ip } });
const freshIp = () => `203.0.113.${Math.floor(Math.random() * 250)}-${unique("ip")}`;

describe("failed logins are limited per account", () => {
  it("refuses the 11th concurrent guess at one account from many addresses with 429 and Retry-After", async () => {
    const victim = await createUser();
    const guesses = await Promise.all(Array.from({ length: 20 }, (_, i) => login(victim.username, `wrong-password-${i}`, freshIp())));
    const statuses = guesses.map((g) => g.status);
    expect(statuses.filter((s) => s === 401).length).toBe(ACCOUNT_FAILURE_LIMIT);
    expect(statuses.filter((s) => s === 429).length).toBe(20 - ACCOUNT_FAILURE_LIMIT);
    const limited = guesses.find((g) => g.status === 429)!;
    const retryAfter = Number(limited.headers.get("retry-after"));
    expect(retryAfter).toBeGreaterThan(800);
    expect(retryAfter).toBeLessThanOrEqual(900);
    expect(limited.body.code).toBe("RATE_LIMITED");
    // Locked for the window, whatever the case of the name or the password.
    expect((await login(victim.username.toUpperCase(), DEFAULT_PASSWORD, freshIp())).status).toBe(429);
    // Another account is untouched.
    const other = await createUser();
    expect((await login(other.username, DEFAULT_PASSWORD, freshIp())).status).toBe(200);
  });

  it("clears an account's failures when its owner logs in", async () => {
    const user = await createUser();
    for (let i = 0; i < ACCOUNT_FAILURE_LIMIT - 1; i++) expect((await login(user.username, "wrong-password", freshIp())).status).toBe(401);
    expect((await login(user.username, DEFAULT_PASSWORD, freshIp())).status).toBe(200);
    for (let i = 0; i < ACCOUNT_FAILURE_LIMIT - 1; i++) expect((await login(user.username, "wrong-password", freshIp())).status).toBe(401);
    expect((await login(user.username, DEFAULT_PASSWORD, freshIp())).status).toBe(200);
  });
});

describe("failed logins are limited per address", () => {
  it("stops a password spray across many accounts from one address", async () => {
    const ip = freshIp();
    const sprays = await Promise.all(Array.from({ length: ADDRESS_FAILURE_LIMIT + 6 }, () => login(unique("nobody"), "Spring2026!", ip)));
    expect(sprays.filter((r) => r.status === 401).length).toBe(ADDRESS_FAILURE_LIMIT);
    expect(sprays.filter((r) => r.status === 429).length).toBe(6);
    expect((await login(unique("nobody"), "Spring2026!", freshIp())).status).toBe(401);
  });

  it("counts IPv6 per /64: another address of the same /64 is the same client, another /64 is not", async () => {
    const prefix = `2001:db8:${Math.floor(Math.random() * 0xffff).toString(16)}:${Math.floor(Math.random() * 0xffff).toString(16)}`;
    const attempts = await Promise.all(
      Array.from({ length: ADDRESS_FAILURE_LIMIT }, (_, i) => login(unique("nobody"), "guess-password", `${prefix}::${(i + 1).toString(16)}`)),
    );
    expect(attempts.every((r) => r.status === 401)).toBe(true);
    expect((await login(unique("nobody"), "guess-password", `${prefix}:ffff:1:2:3`)).status).toBe(429);
    expect((await login(unique("nobody"), "guess-password", `2001:db8:ffff:fffe::1`)).status).toBe(401);
  });

  it("lets a dozen people behind one address log in twice each within a minute", async () => {
    await withinOneRateWindow();
    const ip = freshIp();
    const people = await Promise.all(Array.from({ length: 12 }, () => createUser()));
    const first = await Promise.all(people.map((p) => login(p.username, DEFAULT_PASSWORD, ip)));
    const second = await Promise.all(people.map((p) => login(p.username, DEFAULT_PASSWORD, ip)));
    expect([...first, ...second].map((r) => r.status)).toEqual(Array(24).fill(200));
    // Their successes used none of the address's failure allowance.
    const counter = await env.DB.prepare("SELECT count FROM rate_counters WHERE key = ?").bind(`login:address:${clientAddressKey(ip)}`).first<{ count: number }>();
    expect(counter?.count ?? 0).toBe(0);
  });
});

describe("usernames are one name whatever the case", () => {
  it("refuses Alice beside alice and logs in with any case", async () => {
    const name = unique("Alice");
    const password = "a-long-enough-password";
    expect((await api("POST", "/api/v1/auth/register", { body: { username: name, password } })).status).toBe(201);
    const twin = await api("POST", "/api/v1/auth/register", { body: { username: name.toLowerCase(), password } });
    expect(twin.status).toBe(409);
    expect(twin.body.code).toBe("USERNAME_TAKEN");
    expect((await login(name.toUpperCase(), password, freshIp())).status).toBe(200);
  });

  it("is enforced by the database too", async () => {
    const user = await createUser();
    await expect(
      env.DB.prepare("INSERT INTO users (username, password_hash, created_at, updated_at) VALUES (?, 'x', 'now', 'now')").bind(user.username.toUpperCase()).run(),
    ).rejects.toThrow(/UNIQUE/);
  });
});

describe("refresh and logout are limited", () => {
  it("answers 429 once one address sends too many refreshes that do not verify", async () => {
    await withinOneRateWindow();
    const ip = freshIp();
    const statuses: number[] = [];
    for (let i = 0; i < 31; i++) {
      statuses.push((await api("POST", "/api/v1/auth/refresh", { body: { refresh: "not.a.token" }, headers: { "cf-connecting-ip": ip } })).status);
    }
    expect(statuses.slice(0, 30)).toEqual(Array(30).fill(401));
    expect(statuses[30]).toBe(429);
    const logout = await api("POST", "/api/v1/auth/logout", { body: { refresh: "not.a.token" }, headers: { "cf-connecting-ip": ip } });
    expect(logout.status).toBe(429);
  });
});

describe("client address keys", () => {
  it("keeps IPv4 as is and cuts IPv6 to its /64", () => {
    expect(clientAddressKey("192.0.2.7")).toBe("192.0.2.7");
    expect(ipv6Prefix64("2001:0db8:0000:0001:aaaa:bbbb:cccc:dddd")).toBe("2001:db8:0:1::/64");
    expect(ipv6Prefix64("2001:db8::1")).toBe("2001:db8:0:0::/64");
    expect(ipv6Prefix64("[2001:db8:1:2::9]")).toBe("2001:db8:1:2::/64");
    expect(ipv6Prefix64("::ffff:192.0.2.1")).toBe("0:0:0:0::/64");
    expect(ipv6Prefix64("2001:db8::1::2")).toBeNull();
    expect(ipv6Prefix64("not-an-address")).toBeNull();
  });
});
