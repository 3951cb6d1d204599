// Fault: Redis accepts connections but never answers (a hung server). Every Redis call gives up
// after REDIS_TIMEOUT_MS, each request pays that at most once, and answers come from D1.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { hashFields, transactionKey } from "../../src/features/activation/transaction-cache";
import { getRedis, REDIS_TIMEOUT_MS } from "../../src/lib/redis";
import { QueueName } from "../../src/queues/messages";
import { createApiKey, createUser } from "../helpers/factories";
import { makeOffer } from "../helpers/offer-factories";
import { call, deliverTo, expectConservation, faultBridge, quietly, tick } from "./helpers";

const bridge = await faultBridge();
/** One Redis timeout plus the request's own work, with room for a loaded test machine. */
const BOUND_MS = REDIS_TIMEOUT_MS + 750;

describe("Redis hanging", () => {
  it(`activation, status and health each answer within one Redis timeout (${REDIS_TIMEOUT_MS} ms) plus their own work; the hash heals once Redis answers again`, async () => {
    // Production's timeout, not the test suite's more patient one.
    const workerEnv = bridge.env({ REDIS_TIMEOUT_MS: String(REDIS_TIMEOUT_MS) });
    const user = await createUser({ balance: 5000 });
    const offer = await makeOffer({ price: 2000 });

    await bridge.set("hang");
    const { result: created } = await quietly(() => call(workerEnv, "POST", "/api/v1/activation/", { token: user.token, body: { offer_id: offer.id } }));
    expect(created.status).toBe(202);
    expect(created.ms).toBeLessThan(BOUND_MS);
    const id = created.body.transaction_id as string;

    const { result: pending } = await quietly(() => call(workerEnv, "GET", `/api/v1/activation/status/${id}`, { token: user.token }));
    expect(pending.body.status).toBe("PENDING");
    expect(pending.ms).toBeLessThan(BOUND_MS);

    // The sandbox partner succeeds; the consumer's hash write hangs and is abandoned.
    const { result: delivered } = await quietly(() => deliverTo(workerEnv, QueueName.activations, [{ type: "activation.requested", transaction_id: id }]));
    expect(delivered.explicitAcks).toHaveLength(1);
    const { result: done } = await quietly(() => call(workerEnv, "GET", `/api/v1/activation/status/${id}`, { token: user.token }));
    expect(done.body.status).toBe("SUCCESS");
    expect(done.ms).toBeLessThan(BOUND_MS);

    // The component detail is for admins and API keys; a key is checked in D1, not Redis.
    const monitoring = { headers: { "x-api-key": await createApiKey() } };
    const { result: health } = await quietly(() => call(workerEnv, "GET", "/api/v1/health", monitoring));
    expect(health.status).toBe(200);
    expect(health.body.components.redis.status).toBe("degraded");
    expect(health.ms).toBeLessThan(BOUND_MS);

    await bridge.set("up");
    const recovered = bridge.env();
    await tick(recovered);
    const healed = await call(recovered, "GET", `/api/v1/activation/status/${id}`, { token: user.token });
    expect(healed.body.status).toBe("SUCCESS");
    expect(hashFields(await getRedis(env)!.hgetall(transactionKey(id)))).toMatchObject({ status: "SUCCESS" });
    expect((await call(recovered, "GET", "/api/v1/health", monitoring)).body.components.redis.status).toBe("ok");
    await expectConservation(user.id);
  });
});
