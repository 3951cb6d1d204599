import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { type AccessClaims, signToken, verifyToken } from "../../src/lib/jwt";

afterEach(() => vi.useRealTimers());

const claims = { sub: "41", role: "user" as const, username: "till-41" };

describe("access tokens remembered per isolate after their first verification", () => {
  it("still expire: a remembered token is refused once its exp has passed", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(new Date("2026-06-01T10:00:00Z"));
    const token = await signToken(env, "access", claims, 60);
    expect((await verifyToken<AccessClaims>(env, "access", token))?.sub).toBe("41");
    expect((await verifyToken<AccessClaims>(env, "access", token))?.sub).toBe("41");
    vi.setSystemTime(new Date("2026-06-01T10:01:00Z"));
    expect(await verifyToken<AccessClaims>(env, "access", token)).toBeNull();
  });

  it("are checked again for another secret, issuer or audience, and never answer for another token type", async () => {
    const token = await signToken(env, "access", claims, 600);
    expect(await verifyToken(env, "access", token)).not.toBeNull();
    expect(await verifyToken({ ...env, JWT_SECRET: "another-secret-0123456789abcdef0123456789abcdef" }, "access", token)).toBeNull();
    expect(await verifyToken({ ...env, JWT_ISSUER: "someone-else" }, "access", token)).toBeNull();
    expect(await verifyToken({ ...env, JWT_AUDIENCE: "another-api" }, "access", token)).toBeNull();
    expect(await verifyToken(env, "refresh", token)).toBeNull();
    expect(await verifyToken(env, "access", token)).not.toBeNull();
  });

  it("hand each caller its own copy of the claims", async () => {
    const token = await signToken(env, "access", claims, 600);
    const first = (await verifyToken<AccessClaims>(env, "access", token))!;
    first.role = "admin";
    expect((await verifyToken<AccessClaims>(env, "access", token))?.role).toBe("user");
  });
});
