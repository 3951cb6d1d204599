// The typed client (client/index.ts) against the local worker; TypeScript checks the calls
// (paths, bodies, parameters) when `npm test` typechecks, and this checks the answers.
import { describe, expect, inject, it } from "vitest";
import { bearer, createPerksClient } from "../../client/index";

describe("the typed client", () => {
  it("registers, logs in and reads the profile and account", async () => {
    const perks = createPerksClient(inject("workerUrl"));
    const username = `client${Date.now().toString(36)}`;
    const password = "a-long-password-123";
    const registered = await perks.POST("/api/v1/auth/register", { body: { username, password, email: `${username}@example.com` } });
    expect(registered.response.status).toBe(201);

    const { data: tokens, error } = await perks.POST("/api/v1/auth/login", { body: { username, password } });
    expect(error).toBeUndefined();
    perks.use(bearer(tokens!.access));

    const { data: profile } = await perks.GET("/api/v1/auth/profile");
    expect(profile?.username).toBe(username);
    const { data: account } = await perks.GET("/api/v1/account");
    // A new account: only the signup bonus (if the deployment grants one), as a decimal string.
    expect(account?.balance).toMatch(/^[0-9]+\.[0-9]{2}$/);
    expect(account?.active_subscriptions).toEqual([]);
  });
});
