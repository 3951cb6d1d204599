// Fault: Redis becomes unreachable between the activation and its final status, then comes back
// with the hash it held (a network cut, not a data loss). The status must converge to D1's.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { cacheTransaction, hashFields, PENDING_TTL_SECONDS, transactionKey } from "../../src/features/activation/transaction-cache";
import { getRedis } from "../../src/lib/redis";
import { QueueName } from "../../src/queues/messages";
import { createUser } from "../helpers/factories";
import { makeOffer, partnerHeaders, refundsOf } from "../helpers/offer-factories";
import { outbound } from "../helpers/outbound";
import { call, deliverTo, expectConservation, faultBridge, quietly, tick } from "./helpers";

const PARTNER_URL = "https://partner.example/v1/activations";
const bridge = await faultBridge();
const redis = getRedis(env)!;

async function acceptedActivation() {
  const workerEnv = bridge.env({ PARTNER_API_URL: PARTNER_URL });
  const user = await createUser({ balance: 5000 });
  const offer = await makeOffer({ price: 2000 });
  const created = await call(workerEnv, "POST", "/api/v1/activation/", { token: user.token, body: { offer_id: offer.id } });
  expect(created.status).toBe(202);
  const id = created.body.transaction_id as string;
  // The partner takes it and will call back.
  outbound.on(PARTNER_URL, new Response(JSON.stringify({ status: "ACCEPTED" }), { status: 202 }));
  await deliverTo(workerEnv, QueueName.activations, [{ type: "activation.requested", transaction_id: id }]);
  expect(hashFields(await redis.hgetall(transactionKey(id)))).toMatchObject({ status: "PENDING" });
  return { workerEnv, user, id };
}

async function callback(workerEnv: ReturnType<typeof bridge.env>, body: Record<string, unknown>) {
  const path = "/api/v1/partner/callback";
  const raw = JSON.stringify(body);
  return call(workerEnv, "POST", path, { body, headers: await partnerHeaders("POST", path, raw) });
}

describe("Redis down mid-flow, then back", () => {
  for (const outcome of ["SUCCESS", "FAILED"] as const) {
    it(`a ${outcome} callback while Redis is down: D1 answers meanwhile; once back, the stale PENDING hash expires within ${PENDING_TTL_SECONDS} s and the next sweep rewrites it`, async () => {
      const { workerEnv, user, id } = await acceptedActivation();
      expect(await redis.ttl(transactionKey(id))).toBeLessThanOrEqual(PENDING_TTL_SECONDS);

      await bridge.set("down");
      const { result: done } = await quietly(() => callback(workerEnv, { transaction_id: id, status: outcome, reason: "no stock" }));
      expect(done.body).toMatchObject({ applied: true, status: outcome });
      const { result: duringOutage } = await quietly(() => call(workerEnv, "GET", `/api/v1/activation/status/${id}`, { token: user.token }));
      expect(duringOutage.body.status).toBe(outcome);

      await bridge.set("up");
      // The final write was lost with Redis away: the hash still says PENDING, but only for its short TTL.
      const stale = hashFields(await redis.hgetall(transactionKey(id)));
      expect(stale?.status).toBe("PENDING");
      const ttl = await redis.ttl(transactionKey(id));
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(PENDING_TTL_SECONDS);

      await tick(workerEnv);
      const healed = await call(workerEnv, "GET", `/api/v1/activation/status/${id}`, { token: user.token });
      expect(healed.body.status).toBe(outcome);
      const row = await env.DB.prepare("SELECT status, updated_at FROM transactions WHERE id = ?").bind(id).first<{ status: string; updated_at: string }>();
      expect(hashFields(await redis.hgetall(transactionKey(id)))).toMatchObject({ status: row!.status, updated_at: row!.updated_at });
      expect(await redis.ttl(transactionKey(id))).toBeGreaterThan(86_400);

      expect(await refundsOf(id)).toEqual(outcome === "FAILED" ? { n: 1, total: 2000 } : { n: 0, total: 0 });
      await expectConservation(user.id);
    });
  }

  it("a write built from an older D1 read never replaces a newer hash, whichever finishes last", async () => {
    const id = crypto.randomUUID();
    const base = { id, user_id: 1, amount: 2000, offer_id: 7, created_at: "2026-12-01T08:00:00.000Z" };
    await cacheTransaction(env, { ...base, status: "SUCCESS", updated_at: "2026-12-01T08:00:05.000Z" });
    // A status read that loaded the row while it was PENDING finishes its rebuild after the success.
    await cacheTransaction(env, { ...base, status: "PENDING", updated_at: "2026-12-01T08:00:00.000Z" });
    // Same instant, but a final status is never replaced by PENDING.
    await cacheTransaction(env, { ...base, status: "PENDING", updated_at: "2026-12-01T08:00:05.000Z" });
    expect(hashFields(await redis.hgetall(transactionKey(id)))).toMatchObject({ status: "SUCCESS", updated_at: "2026-12-01T08:00:05.000Z" });
    // A newer write does replace it.
    await cacheTransaction(env, { ...base, status: "FAILED", updated_at: "2026-12-01T08:00:09.000Z" });
    expect(hashFields(await redis.hgetall(transactionKey(id)))).toMatchObject({ status: "FAILED", updated_at: "2026-12-01T08:00:09.000Z" });
    await redis.del(transactionKey(id));
  });

  it("a status read during the outage does not try to rebuild the hash (one Redis call, not two)", async () => {
    const { workerEnv, user, id } = await acceptedActivation();
    await bridge.set("down");
    const before = await bridge.requests();
    await quietly(() => call(workerEnv, "GET", `/api/v1/activation/status/${id}`, { token: user.token }));
    expect((await bridge.requests()) - before).toBe(1);
    await bridge.set("up");
    await expectConservation(user.id);
  });
});
