import { env } from "cloudflare:workers";
import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import worker, { app } from "../../../src/index";
import type { Env } from "../../../src/env";
import { api, BASE } from "../../helpers/api";
import { createUser } from "../../helpers/factories";

/** Delivers a message that does not parse as its queue's schema: the worker sets it aside. */
async function deliverUnparseable(queue: string, body: unknown) {
  const id = `dead-letter-${crypto.randomUUID()}`;
  const batch = createMessageBatch(queue, [{ id, timestamp: new Date(), attempts: 2, body }]);
  await worker.queue(batch, env as unknown as Env);
  const result = await getQueueResult(batch, createExecutionContext());
  expect(result.explicitAcks).toContain(id);
  return id;
}

describe("admin: dead letters", () => {
  it("lists the messages set aside, newest first, by queue and a page at a time; health counts them; dismissing removes one", async () => {
    const admin = await createUser({ role: "admin" });
    const first = await deliverUnparseable("perks-activations", { transactionId: 42 });
    const second = await deliverUnparseable("perks-notifications", { not: "a notification" });
    const third = await deliverUnparseable("perks-activations", "just text");

    const all = await api("GET", "/api/v1/admin/dead-letters?page_size=100", { token: admin.token });
    expect(all.status).toBe(200);
    const ids = all.body.results.map((d: { message_id: string }) => d.message_id);
    expect(ids.indexOf(third)).toBeLessThan(ids.indexOf(second));
    expect(ids.indexOf(second)).toBeLessThan(ids.indexOf(first));
    const kept = all.body.results.find((d: { message_id: string }) => d.message_id === first);
    expect(kept).toMatchObject({ queue: "perks-activations", attempts: 2, body: JSON.stringify({ transactionId: 42 }) });
    expect(kept.reason).toMatch(/^message does not parse: /);

    const activations = await api("GET", "/api/v1/admin/dead-letters?queue=perks-activations&page_size=1", { token: admin.token });
    expect(activations.body.results).toHaveLength(1);
    expect(activations.body.results[0].message_id).toBe(third);
    expect(activations.body.count).toBeGreaterThanOrEqual(2);
    expect(activations.body.next).toContain("page=2");
    // Page links point at the public address clients use, not the one the worker was reached at.
    const behindProxy = await app.fetch(
      new Request(`${BASE}/api/v1/admin/dead-letters?queue=perks-activations&page_size=1`, { headers: { authorization: `Bearer ${admin.token}` } }),
      { ...env, PUBLIC_BASE_URL: "https://api.perks.example" },
      createExecutionContext(),
    );
    expect(((await behindProxy.json()) as { next: string }).next).toMatch(/^https:\/\/api\.perks\.example\/api\/v1\/admin\/dead-letters\?/);

    const health = await api("GET", "/api/v1/health", { token: admin.token });
    const counted = health.body.components.queues.backlog.dead_letters;
    expect(counted).toBe(all.body.count);

    const dismissed = await api("DELETE", `/api/v1/admin/dead-letters/${kept.id}`, { token: admin.token });
    expect(dismissed.status).toBe(200);
    expect(dismissed.body.message_id).toBe(first);
    const again = await api("DELETE", `/api/v1/admin/dead-letters/${kept.id}`, { token: admin.token });
    expect(again.status).toBe(404);
    expect(again.body.code).toBe("NOT_FOUND");
    const after = await api("GET", "/api/v1/health", { token: admin.token });
    expect(after.body.components.queues.backlog.dead_letters).toBe(counted - 1);
  });

  it("is for admins only, and refuses a bad page or queue with 400, not a 500", async () => {
    const user = await createUser();
    expect((await api("GET", "/api/v1/admin/dead-letters", { token: user.token })).status).toBe(403);
    expect((await api("DELETE", "/api/v1/admin/dead-letters/1", { token: user.token })).status).toBe(403);
    expect((await api("GET", "/api/v1/admin/dead-letters")).status).toBe(401);
    const admin = await createUser({ role: "admin" });
    for (const query of ["page=0", "page_size=1000", "page=abc", `queue=${"q".repeat(101)}`]) {
      const res = await api("GET", `/api/v1/admin/dead-letters?${query}`, { token: admin.token });
      expect(res.status, query).toBe(400);
      expect(res.body.code, query).toBe("VALIDATION_ERROR");
    }
    expect((await api("DELETE", "/api/v1/admin/dead-letters/not-a-number", { token: admin.token })).status).toBe(400);
  });
});
