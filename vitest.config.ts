import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";
import { buildAssets } from "./scripts/assets/build.mjs";

/** A free loopback port, chosen here so the worker's bindings and the global setup agree on it. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}

const bridgePort = Number(process.env.PERKS_TEST_BRIDGE_PORT) || (await freePort());
process.env.PERKS_TEST_BRIDGE_PORT = String(bridgePort);
// wrangler.toml's [assets] directory must exist before the worker starts (wrangler's [build] does
// this for dev and deploy; the test pool does not run it).
buildAssets();
const migrations = await readD1Migrations(fileURLToPath(new URL("./migrations", import.meta.url)));

export default defineConfig({
  plugins: [
    cloudflareTest({
      wrangler: { configPath: "./wrangler.toml" },
      miniflare: {
        bindings: {
          TEST_MIGRATIONS: migrations,
          ENVIRONMENT: "test",
          // Tests write fixtures straight to D1, which a per-isolate cache would not see; the cache's own tests turn it on.
          READ_CACHE_SECONDS: "0",
          // Links come from here, never from the request's Host (tests call http://perks.test).
          PUBLIC_BASE_URL: "http://perks.test",
          JWT_SECRET: "test-jwt-secret-0123456789abcdef0123456789abcdef",
          PARTNER_API_SECRET: "test-partner-secret",
          UPSTASH_REDIS_REST_URL: `http://127.0.0.1:${bridgePort}`,
          UPSTASH_REDIS_REST_TOKEN: "test-redis-token",
          // A loaded test machine can take longer than production's 250 ms for a healthy Redis;
          // test/faults/redis-hanging.test.ts runs with the production default.
          REDIS_TIMEOUT_MS: "2000",
          TEST_BRIDGE_PORT: String(bridgePort),
          // Hermetic: whatever a developer keeps in .dev.vars, tests start from the sandboxes.
          PARTNER_API_URL: "",
          RESEND_API_KEY: "",
          TELEGRAM_BOT_TOKEN: "",
          WHATSAPP_ACCESS_TOKEN: "",
          WHATSAPP_PHONE_NUMBER_ID: "",
          // `STRESS_SEED=<n> npm test -- test/stress` replays one run of the invariant stress suite;
          // unset (even with a STRESS_SEED in .dev.vars), the suite runs its fixed seed.
          STRESS_SEED: process.env.STRESS_SEED ?? "",
        },
      },
    }),
  ],
  test: {
    globalSetup: ["./test/setup/global-setup.ts"],
    setupFiles: ["./test/setup/apply-migrations.ts", "./test/setup/outbound-fetch.ts"],
    include: ["test/**/*.test.ts"],
    // Node-side suites (a browser, linters, the repository itself): vitest.node.config.ts.
    exclude: ["test/node/**", "test/browser/**"],
    // Every request, message and cron job logs a line: show the logs of failing tests only.
    silent: "passed-only",
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
