// Builds the floor worker (floor-worker.mjs: bare Hono + jose) and describes it for Miniflare: a
// second worker in the same workerd, on its own socket, with the API's D1 database and its own
// wallet object, queue and rate limiter. Its tables (floor_*) have the shape of the API's own.
import { createRequire } from "node:module";
import { join } from "node:path";
import { ROOT } from "../lib/wrangler.mjs";

const requireFromRoot = createRequire(join(ROOT, "package.json"));

export async function buildFloor(outdir) {
  const esbuild = await import(requireFromRoot.resolve("esbuild"));
  const outfile = join(outdir, "floor.js");
  await esbuild.build({
    entryPoints: [join(ROOT, "scripts", "bench", "floor-worker.mjs")],
    bundle: true,
    format: "esm",
    platform: "neutral",
    target: "es2022",
    conditions: ["workerd", "worker", "browser"],
    mainFields: ["module", "main"],
    external: ["cloudflare:*"],
    minify: true,
    // For `--profile` (a separate file: nothing changes at run time).
    sourcemap: "external",
    outfile,
    logLevel: "error",
  });
  return outfile;
}

/** The API's notification consumer's batch size and wait, as Miniflare has them from wrangler.toml. */
function notificationBatching(app) {
  const { maxBatchSize = 10, maxBatchTimeout = 1 } = app.queueConsumers?.["perks-notifications"] ?? {};
  return { maxBatchSize, maxBatchTimeout };
}

/** Worker options (Miniflare 4 shape) for the floor, sharing the API's D1 database. */
export function floorWorkerOptions({ floorPath, app, redis }) {
  const limiter = Object.values(app.ratelimits ?? {})[0];
  return {
    name: "floor",
    modules: true,
    scriptPath: floorPath,
    modulesRoot: join(floorPath, ".."),
    compatibilityDate: app.compatibilityDate,
    compatibilityFlags: app.compatibilityFlags,
    d1Databases: app.d1Databases,
    durableObjects: { FLOOR_WALLET: { className: "FloorWallet", useSQLite: true } },
    queueProducers: { FLOOR_QUEUE: { queueName: "perks-bench-floor" } },
    // Delivered like the API's notifications (the batch size and wait of wrangler.toml's consumer).
    queueConsumers: { "perks-bench-floor": notificationBatching(app) },
    ratelimits: limiter ? { PROBE_LIMITER: { ...limiter, name: "PROBE_LIMITER", namespace_id: "1999", simple: { limit: 1_000_000_000, period: 60 } } } : {},
    bindings: {
      JWT_SECRET: app.bindings.JWT_SECRET,
      JWT_ISSUER: app.bindings.JWT_ISSUER,
      JWT_AUDIENCE: app.bindings.JWT_AUDIENCE,
      UPSTASH_REDIS_REST_URL: redis?.url ?? "",
      UPSTASH_REDIS_REST_TOKEN: redis?.token ?? "",
      // The activation floor's consumer calls the partner only when the API does (see floor-worker.mjs).
      PARTNER_API_URL: app.bindings.PARTNER_API_URL ?? "",
    },
    unsafeDirectSockets: [{ host: "127.0.0.1", port: 0 }],
  };
}

/** The floor's tables: the shapes of wallets, ledger_entries, idempotency_keys, notifications and transactions. */
export function floorTablesSql({ userIds, hotUserId, hotBalance, funds }) {
  const now = new Date().toISOString();
  const rows = userIds.map((id) => `(${id}, ${funds}, '${now}')`);
  return `
CREATE TABLE IF NOT EXISTS floor_wallets (user_id INTEGER PRIMARY KEY, balance INTEGER NOT NULL CONSTRAINT floor_wallet_non_negative CHECK (balance >= 0), updated_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS floor_ledger (id INTEGER PRIMARY KEY AUTOINCREMENT, user_id INTEGER NOT NULL, amount INTEGER NOT NULL, balance_after INTEGER NOT NULL,
  kind TEXT NOT NULL, transaction_id TEXT, idempotency_key TEXT, note TEXT NOT NULL DEFAULT '', created_at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS floor_ledger_user ON floor_ledger (user_id);
CREATE TABLE IF NOT EXISTS floor_idem (scope TEXT PRIMARY KEY, request_hash TEXT NOT NULL, state TEXT NOT NULL, response_status INTEGER, response_body TEXT,
  created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')));
CREATE TABLE IF NOT EXISTS floor_notifications (id INTEGER PRIMARY KEY AUTOINCREMENT, user_id INTEGER NOT NULL, title TEXT NOT NULL, message TEXT NOT NULL, status TEXT NOT NULL DEFAULT 'queued', sent_at TEXT, created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS floor_activations (id TEXT PRIMARY KEY, user_id INTEGER NOT NULL, amount INTEGER NOT NULL, status TEXT NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS floor_activations_status ON floor_activations (status);
INSERT INTO floor_wallets (user_id, balance, updated_at) VALUES ${rows.join(", ")};
INSERT INTO floor_wallets (user_id, balance, updated_at) VALUES (${hotUserId}, ${hotBalance}, '${now}') ON CONFLICT (user_id) DO UPDATE SET balance = excluded.balance;
`;
}
