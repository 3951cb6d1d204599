import { env } from "cloudflare:workers";
import { createExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { app } from "../../../src/index";
import { signToken } from "../../../src/lib/jwt";
import { BASE } from "../../helpers/api";
import { createUser } from "../../helpers/factories";

const OLD_SECRET = "the-previous-secret-0123456789abcdef0123456789";

describe("JWT key rotation by kid", () => {
  it("keeps accepting tokens of the previous key while it is configured, and refuses them after", async () => {
    const user = await createUser();
    const oldKeyEnv = { ...env, JWT_SECRET: OLD_SECRET, JWT_KID: "k0" };
    const oldToken = await signToken(oldKeyEnv, "access", { sub: String(user.id), role: "user", username: user.username }, 600);
    const profile = (withEnv: typeof env) =>
      app.fetch(new Request(`${BASE}/api/v1/auth/profile`, { headers: { authorization: `Bearer ${oldToken}` } }), withEnv, createExecutionContext());

    const rotated = { ...env, JWT_KID: "k1", JWT_PREVIOUS_SECRET: OLD_SECRET, JWT_PREVIOUS_KID: "k0" };
    expect((await profile(rotated)).status).toBe(200);
    const retired = { ...env, JWT_KID: "k1", JWT_PREVIOUS_SECRET: undefined, JWT_PREVIOUS_KID: undefined };
    expect((await profile(retired)).status).toBe(401);
  });
});
