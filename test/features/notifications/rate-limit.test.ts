import { describe, expect, it } from "vitest";
import { api } from "../../helpers/api";
import { createUser } from "../../helpers/factories";
import { withinOneRateWindow } from "../../helpers/rate-window";

describe("send and bulk requests are capped per user (NOTIFY_LIMITER: 60 per minute)", () => {
  it("answers 429 after 60 sends in a minute, for that user only", async () => {
    await withinOneRateWindow();
    const sender = await createUser({ role: "admin" });
    const send = (token: string, i: number) =>
      api("POST", "/api/v1/notifications/send/", {
        token,
        body: { title: `Hello ${i}`, message: "Rate limit check", recipient_type: "email", recipient: `r${i}@example.test` },
      });
    const statuses: number[] = [];
    for (let i = 0; i < 60; i++) statuses.push((await send(sender.token, i)).status);
    expect(new Set(statuses)).toEqual(new Set([201]));
    const limited = await send(sender.token, 61);
    expect(limited.status).toBe(429);
    expect(limited.body.code).toBe("RATE_LIMITED");
    const bulk = await api("POST", "/api/v1/notifications/bulk", {
      token: sender.token,
      body: { notifications: [{ title: "t", message: "m", recipient_type: "email", recipient: "x@example.test" }] },
    });
    expect(bulk.status).toBe(429);
    const other = await createUser({ role: "admin" });
    expect((await send(other.token, 0)).status).toBe(201);
  });
});
