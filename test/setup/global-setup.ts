// Vitest globalSetup: runs in Node (not workerd) before any test file. It puts a real Redis
// behind the Upstash REST bridge on the port vitest.config.ts chose and handed to the worker
// as UPSTASH_REDIS_REST_URL. Tests never skip for a missing Redis: no Redis, no test run.
import { ensureRedis } from "../../scripts/redis/ensure-redis.mjs";
import { startUpstashBridge } from "../../scripts/redis/upstash-bridge.mjs";
import { startFaultBridgeFactory } from "../../scripts/redis/fault-bridges.mjs";

export const TEST_REDIS_TOKEN = "test-redis-token";

type Provide = (key: "redisBridgeUrl" | "faultBridgeFactoryUrl", value: string) => void;

// Typed locally so this file checks without @types/node (the project has none: it targets workerd).
const nodeEnv = (globalThis as unknown as { process: { env: Record<string, string | undefined> } }).process.env;

export default async function setup({ provide }: { provide: Provide }): Promise<() => Promise<void>> {
  const port = Number(nodeEnv.PERKS_TEST_BRIDGE_PORT);
  if (!Number.isInteger(port) || port <= 0) {
    throw new Error("PERKS_TEST_BRIDGE_PORT is not set: vitest.config.ts must choose the Redis bridge port");
  }

  const redis = await ensureRedis({ preferPort: 6379 });
  if (!redis) {
    throw new Error(
      "redis-server is required for the tests: apt-get install redis-server " +
        "(or start one on 127.0.0.1:6379). Tests do not skip without Redis.",
    );
  }

  let bridge: Awaited<ReturnType<typeof startUpstashBridge>>;
  try {
    bridge = await startUpstashBridge({
      redisHost: redis.host,
      redisPort: redis.port,
      host: "127.0.0.1",
      port,
      token: TEST_REDIS_TOKEN,
    });
  } catch (err) {
    await redis.stop();
    throw new Error(`Could not start the Redis REST bridge on 127.0.0.1:${port}: ${(err as Error).message}`);
  }

  provide("redisBridgeUrl", bridge.url);
  // test/faults/: each file gets a bridge of its own whose Redis it can cut or hang mid-flow.
  const faultBridges = await startFaultBridgeFactory({ redisHost: redis.host, redisPort: redis.port, token: TEST_REDIS_TOKEN });
  provide("faultBridgeFactoryUrl", faultBridges.url);

  return async () => {
    await faultBridges.close();
    await bridge.close();
    await redis.stop();
  };
}
