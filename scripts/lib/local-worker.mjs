// The worker as a deploy would ship it (the `wrangler deploy --dry-run` bundle and public/ assets),
// run by workerd through Miniflare on a free loopback port with wrangler.toml's bindings, fresh
// local storage, the D1 migrations applied and Redis behind the Upstash REST bridge. Used by the
// Node-side test suites (browser, linters, contract against a live server).
import { randomBytes } from "node:crypto";
import { rmSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { ensureRedis } from "../redis/ensure-redis.mjs";
import { startUpstashBridge } from "../redis/upstash-bridge.mjs";
import { applySql, buildBundle, migrationFiles, startWorker, tempDir, workerOptions, wranglerApi } from "../bench/worker.mjs";
import { ROOT } from "./wrangler.mjs";

export const LOCAL_SECRETS = {
  ENVIRONMENT: "test",
  JWT_SECRET: "local-worker-jwt-secret-0123456789abcdef0123456789",
  PARTNER_API_SECRET: "local-worker-partner-secret",
  // The database starts empty (no admin to credit wallets): new users get points to buy with.
  SIGNUP_BONUS: "100.00",
};

/** A free loopback port, chosen before the start so PUBLIC_BASE_URL can name the worker's own address. */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/**
 * Starts the worker; resolves { url, mf, stop }. `bindings` override vars and secrets (for instance
 * `{ JWT_SECRET: "" }` to see a misconfigured worker). Without redis-server it fails: the suites
 * that use it never skip.
 */
export async function startLocalWorker({ bindings = {}, seed = false, log = () => {} } = {}) {
  const stops = [];
  const stop = async () => {
    for (const fn of stops.reverse()) await fn().catch(() => {});
  };
  try {
    log("local worker: building the deploy bundle");
    const { scriptPath, outdir } = await buildBundle();
    stops.push(async () => rmSync(outdir, { recursive: true, force: true }));

    const redis = await ensureRedis({ preferPort: 6379 });
    if (!redis) throw new Error("redis-server is required: apt-get install redis-server (or start one on 127.0.0.1:6379)");
    stops.push(() => redis.stop());
    const token = randomBytes(16).toString("hex");
    const bridge = await startUpstashBridge({ redisHost: redis.host, redisPort: redis.port, host: "127.0.0.1", port: 0, token });
    stops.push(() => bridge.close());

    const storage = tempDir("perks-local-worker-");
    stops.push(async () => storage.remove());
    const options = await workerOptions({ scriptPath, redis: { url: bridge.url, token }, persistPath: storage.dir });
    const base = (await wranglerApi()).unstable_getMiniflareWorkerOptions(join(ROOT, "wrangler.toml")).workerOptions;
    const port = await freePort();
    const { mf, url } = await startWorker({
      ...options,
      port,
      name: "perks-edge-local",
      ratelimits: base.ratelimits,
      assets: base.assets,
      // Links (QR images, pagination, claim messages) point at this worker, as npm run dev's do.
      bindings: { ...options.bindings, ...LOCAL_SECRETS, PUBLIC_BASE_URL: `http://127.0.0.1:${port}`, ...bindings },
    });
    stops.push(() => mf.dispose());
    const db = await mf.getD1Database("DB");
    await applySql(db, migrationFiles());
    if (seed) {
      const { seedDatabase } = await import("../seed.mjs");
      await seedDatabase(db);
    }
    log(`local worker: ${url}`);
    return { url, mf, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
