// `npm run dev`: everything a local run needs, then `wrangler dev`.
//   1. Redis: the one on 127.0.0.1:6379, or a throwaway redis-server, behind the Upstash REST
//      bridge on 127.0.0.1:8079. Without Redis the worker runs without its status cache.
//   2. .dev.vars (gitignored): secrets for local runs; an existing JWT_SECRET is kept.
//   3. D1 migrations and demo data into the local database.
//   4. wrangler dev on http://localhost:8787 with /__scheduled for cron jobs.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ensureRedis } from "./redis/ensure-redis.mjs";
import { startUpstashBridge } from "./redis/upstash-bridge.mjs";
import { DEMO_PASSWORD, DEMO_USERS } from "./seed.mjs";
import { ROOT, projectEnv, projectNode, runWrangler, wranglerBinary } from "./lib/wrangler.mjs";

// `PORT=8790 npm run dev` when 8787 is taken.
const DEV_PORT = Number(process.env.PORT) || 8787;
const BRIDGE_PORT = 8079;
const DEV_VARS = join(ROOT, ".dev.vars");

const cleanups = [];
let cleaning;
function cleanup() {
  cleaning ??= Promise.allSettled(cleanups.reverse().map((fn) => fn()));
  return cleaning;
}

function parseDevVars(text) {
  const vars = new Map();
  for (const line of text.split(/\r?\n/)) {
    const m = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(line);
    if (!m) continue;
    let value = m[2].trim();
    if (/^(["']).*\1$/.test(value)) value = value.slice(1, -1);
    vars.set(m[1], value);
  }
  return vars;
}

function writeDevVars(redis) {
  const existing = existsSync(DEV_VARS) ? parseDevVars(readFileSync(DEV_VARS, "utf8")) : new Map();
  const jwtSecret = existing.get("JWT_SECRET") || randomBytes(24).toString("hex");
  const managed = new Map([
    ["ENVIRONMENT", "development"],
    // Every absolute link (claim links, QR images, media, pages) is built from this.
    ["PUBLIC_BASE_URL", `http://localhost:${DEV_PORT}`],
    ["JWT_SECRET", jwtSecret],
    ["PARTNER_API_SECRET", "dev-partner-secret"],
    ["UPSTASH_REDIS_REST_URL", redis?.url ?? ""],
    ["UPSTASH_REDIS_REST_TOKEN", redis?.token ?? ""],
  ]);
  // Keep whatever else the developer added (provider keys and such).
  const extra = [...existing].filter(([key]) => !managed.has(key));
  const lines = [
    "# Written by `npm run dev`; the first block of keys is rewritten on each run",
    "# (JWT_SECRET is kept). Add your own keys below; they are preserved.",
    ...[...managed].map(([k, v]) => `${k}=${JSON.stringify(v)}`),
    "",
    ...extra.map(([k, v]) => `${k}=${JSON.stringify(v)}`),
  ];
  writeFileSync(DEV_VARS, `${lines.join("\n")}\n`, { mode: 0o600 });
}

async function startRedis() {
  const redis = await ensureRedis({ preferPort: 6379, log: (line) => console.log(`dev: ${line}`) });
  if (!redis) return null;
  cleanups.push(() => redis.stop());
  const token = randomBytes(24).toString("hex");
  let bridge;
  try {
    bridge = await startUpstashBridge({ redisHost: redis.host, redisPort: redis.port, port: BRIDGE_PORT, token });
  } catch (err) {
    if (err?.code !== "EADDRINUSE") throw err;
    console.log(`dev: port ${BRIDGE_PORT} is taken; the Redis bridge uses a free port instead`);
    bridge = await startUpstashBridge({ redisHost: redis.host, redisPort: redis.port, port: 0, token });
  }
  cleanups.push(() => bridge.close());
  console.log(`dev: Upstash REST bridge on ${bridge.url} -> redis ${redis.host}:${redis.port}`);
  return { url: bridge.url, token };
}

async function step(label, args) {
  console.log(`dev: ${label}`);
  const { code } = await runWrangler(args, { env: { CI: "true" } });
  if (code !== 0) throw new Error(`${label} failed (wrangler exited with ${code})`);
}

function runSeed() {
  return new Promise((resolve, reject) => {
    const child = spawn(projectNode(), [join(ROOT, "scripts", "seed.mjs")], { cwd: ROOT, env: projectEnv(), stdio: "inherit" });
    child.once("error", reject);
    child.once("exit", (code) => (code === 0 ? resolve() : reject(new Error(`seeding failed (exit ${code})`))));
  });
}

function banner(redis) {
  const url = `http://localhost:${DEV_PORT}`;
  const logins = DEMO_USERS.map((u) => `${u.username} (${u.role})`).join(", ");
  console.log(
    [
      "",
      "  perks-edge local",
      `  API      ${url}/api/v1`,
      `  Docs     ${url}/api/docs`,
      `  Cron     ${url}/__scheduled?cron=*/15+*+*+*+*`,
      `  Redis    ${redis ? redis.url : "not available (no status cache)"}`,
      `  Logins   ${logins}; password ${DEMO_PASSWORD}`,
      "",
    ].join("\n"),
  );
}

async function main() {
  let redis = null;
  try {
    redis = await startRedis();
  } catch (err) {
    console.log(`dev: could not start the Redis bridge: ${err?.message ?? err}`);
  }
  if (!redis) console.log("Redis not available: running without the status cache");

  writeDevVars(redis);
  console.log("dev: wrote .dev.vars");

  await step("applying D1 migrations to the local database", ["d1", "migrations", "apply", "DB", "--local"]);
  await runSeed();
  banner(redis);

  const child = spawn(wranglerBinary(), ["dev", "--port", String(DEV_PORT), "--test-scheduled", "--local"], {
    cwd: ROOT,
    env: projectEnv(),
    stdio: "inherit",
  });
  // Ctrl-C reaches wrangler too (same process group); wait for it, then clean up.
  const forward = (signal) => () => {
    if (child.exitCode === null) child.kill(signal);
  };
  process.on("SIGINT", forward("SIGINT"));
  process.on("SIGTERM", forward("SIGTERM"));
  process.on("SIGHUP", forward("SIGHUP"));
  const code = await new Promise((resolve) => {
    child.once("error", (err) => {
      console.error(`dev: could not start wrangler: ${err.message}`);
      resolve(1);
    });
    child.once("exit", (c, signal) => resolve(c ?? (signal ? 0 : 1)));
  });
  await cleanup();
  process.exit(code);
}

main().catch(async (err) => {
  console.error(`dev: ${err?.message ?? err}`);
  await cleanup();
  process.exit(1);
});
