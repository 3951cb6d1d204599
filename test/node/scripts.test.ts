// The scripts that write to D1 (seed, admin:create, bench data) share the worker's code: the
// password hash is made by src/lib/password.ts itself, and every SQL value is a bound parameter.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, inject, it } from "vitest";

const ROOT = join(import.meta.dirname, "..", "..");
const scripts = execFileSync("git", ["ls-files", "-z", "--", "scripts"], { cwd: ROOT, encoding: "utf8" })
  .split("\0")
  .filter((file) => /\.m?[jt]s$/.test(file));
const read = (file: string) => readFileSync(join(ROOT, file), "utf8");

describe("scripts and the worker share one password format", () => {
  it("the demo users the seed script hashed log in to the worker, and a wrong password does not", async () => {
    // The global setup seeded this worker's database with scripts/seed.mjs.
    const { DEMO_PASSWORD, DEMO_USERS } = await import("../../scripts/seed.mjs");
    expect(DEMO_USERS.map((u: { username: string }) => u.username)).toContain("alice");
    const login = (username: string, password: string) =>
      fetch(`${inject("workerUrl")}/api/v1/auth/login/`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ username, password }),
      });
    for (const { username } of DEMO_USERS as { username: string }[]) {
      const ok = await login(username, DEMO_PASSWORD);
      expect(ok.status, username).toBe(200);
      expect(((await ok.json()) as { access?: string }).access).toEqual(expect.any(String));
    }
    const refused = await login("alice", `${DEMO_PASSWORD}x`);
    expect(refused.status).toBe(401);
  });

  it("no script hashes passwords itself: they import the worker's module", () => {
    expect(scripts.length).toBeGreaterThan(10);
    const ownHashing = scripts.filter((file) => /pbkdf2Sync|pbkdf2\(|["']PBKDF2["']|deriveBits|scryptSync|scrypt\(/.test(read(file)));
    expect(ownHashing).toEqual([]);
    const users = scripts.filter((file) => /src\/lib\/password\.ts/.test(read(file)));
    expect(users).toContain("scripts/seed.mjs");
    expect(users).toContain("scripts/admin-create.mjs");
  });

  it("no script hands SQL text with values in it to wrangler d1 execute", () => {
    const pasted = scripts.filter((file) => /["']execute["']/.test(read(file)) || /replaceAll\("'", "''"\)/.test(read(file)));
    expect(pasted).toEqual([]);
  });
});
