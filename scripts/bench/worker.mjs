// The worker for the benchmark: the deployable bundle (`wrangler deploy --dry-run`) run by workerd
// through Miniflare, with wrangler.toml's bindings, so no dev proxy sits in the measured path.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { gzipSync } from "node:zlib";
import { ROOT, runWrangler } from "../lib/wrangler.mjs";

const requireFromWrangler = createRequire(createRequire(join(ROOT, "package.json")).resolve("wrangler/package.json"));

/** The Miniflare that wrangler itself runs (same workerd as `npm run dev`). */
export async function loadMiniflare() {
  try {
    return await import(requireFromWrangler.resolve("miniflare"));
  } catch {
    return await import("miniflare");
  }
}

export const wranglerApi = () => import(createRequire(join(ROOT, "package.json")).resolve("wrangler"));

export const BENCH_SECRETS = {
  ENVIRONMENT: "bench",
  // Outside development links need a configured base; the bench never follows them.
  PUBLIC_BASE_URL: "http://127.0.0.1",
  // The bench sends thousands of messages a minute on purpose: the abuse limits would refuse most.
  RECIPIENT_DAILY_MESSAGE_LIMIT: "1000000",
  SENDER_HOURLY_MESSAGE_LIMIT: "1000000",
  JWT_SECRET: "bench-jwt-secret-0123456789abcdef0123456789abcdef",
  PARTNER_API_SECRET: "bench-partner-secret",
};

/** Builds the bundle a deploy would upload (or takes an existing build's copy); returns its path and sizes. */
export async function buildBundle(existing) {
  const outdir = mkdtempSync(join(tmpdir(), "perks-bench-build-"));
  let stdout = "";
  let stderr = "";
  if (existing) cpSync(existing, outdir, { recursive: true });
  else {
    const run = await runWrangler(["deploy", "--dry-run", "--outdir", outdir], { capture: true, env: { CI: "true" } });
    ({ stdout, stderr } = run);
    if (run.code !== 0) throw new Error(`wrangler deploy --dry-run failed:\n${stdout}${stderr}`);
  }
  const scriptPath = join(outdir, "index.js");
  const bytes = readFileSync(scriptPath);
  const reported = /Total Upload:\s*([\d.]+ KiB)\s*\/\s*gzip:\s*([\d.]+ KiB)/.exec(stdout + stderr);
  return {
    outdir,
    scriptPath,
    bundle: {
      bytes: bytes.length,
      gzip_bytes: gzipSync(bytes, { level: 9 }).length,
      wrangler_reported: reported ? { total: reported[1], gzip: reported[2] } : null,
    },
  };
}

let config;
async function fromWranglerToml() {
  if (!config) {
    const wrangler = await wranglerApi();
    const configPath = join(ROOT, "wrangler.toml");
    config = {
      base: wrangler.unstable_getMiniflareWorkerOptions(configPath).workerOptions,
      vars: wrangler.unstable_readConfig({ config: configPath }).vars,
    };
  }
  return config;
}

/**
 * Miniflare options from wrangler.toml (D1, the wallet Durable Object, R2, queues, rate limits),
 * with the bench's own secrets instead of .dev.vars (no provider keys: notifications stay in the
 * sandbox) and rate limits raised so the benchmark measures work, not 429s.
 */
export async function workerOptions({ scriptPath, extraModules = [], redis, persistPath, vars: extraVars = {} }) {
  const { base, vars } = await fromWranglerToml();
  const ratelimits = Object.fromEntries(
    Object.entries(base.ratelimits ?? {}).map(([name, limiter]) => [name, { ...limiter, simple: { limit: 1_000_000_000, period: 60 } }]),
  );
  return {
    name: "perks-edge-bench",
    // The entry first, then what it imports (Miniflare does not follow imports between files itself).
    ...(extraModules.length ? { modules: [scriptPath, ...extraModules].map((path) => ({ type: "ESModule", path })) } : { modules: true, scriptPath }),
    // Module names are paths relative to this root; a bundle outside the cwd fails to load without it.
    modulesRoot: dirname(scriptPath),
    compatibilityDate: base.compatibilityDate,
    compatibilityFlags: base.compatibilityFlags,
    d1Databases: base.d1Databases,
    durableObjects: base.durableObjects,
    r2Buckets: base.r2Buckets,
    queueProducers: base.queueProducers,
    queueConsumers: base.queueConsumers,
    ratelimits,
    bindings: {
      ...vars,
      ...BENCH_SECRETS,
      ...extraVars,
      UPSTASH_REDIS_REST_URL: redis?.url ?? "",
      UPSTASH_REDIS_REST_TOKEN: redis?.token ?? "",
    },
    resourcePersistencePath: persistPath,
  };
}

/** Options in Miniflare 4's documented shape, converted when the installed Miniflare is 5. */
export async function miniflareOptions(options) {
  const { convertV4MiniflareOptions } = await loadMiniflare();
  // The API logs one JSON line per request; printing them here would spend the cores being measured.
  // Errors and warnings still print: a run that answers 500 must say why.
  const quiet = process.env.BENCH_LOGS
    ? {}
    : { handleStructuredLogs: (log) => (log.level === "error" || log.level === "warn" ? console.error(`workerd ${log.level}: ${log.message}`) : undefined) };
  const v4 = { host: "127.0.0.1", port: 0, ...quiet, ...options };
  return convertV4MiniflareOptions ? convertV4MiniflareOptions(v4) : v4;
}

/** The API first (it gets the main socket), then any other workers (the floor) in the same workerd. */
export function withWorkers(app, ...others) {
  const { resourcePersistencePath, ...first } = app;
  // Both are timed on a direct socket: Miniflare's entry worker (its main socket) would add a hop
  // to the API that the floor does not pay, and that production does not have.
  return { resourcePersistencePath, workers: [{ ...first, unsafeDirectSockets: [{ host: "127.0.0.1", port: 0 }] }, ...others] };
}

const trimmed = (url) => url.href.replace(/\/$/, "");

export async function startWorker(options) {
  const { Miniflare } = await loadMiniflare();
  const mf = new Miniflare(await miniflareOptions(options));
  const url = await mf.ready;
  return { mf, url: trimmed(url) };
}

/** Restarts the same Miniflare with new options; returns the API's and the floor's URLs. */
export async function restart(mf, options) {
  await mf.setOptions(await miniflareOptions(options));
  return urls(mf);
}

export async function urls(mf) {
  await mf.ready;
  return { url: trimmed(await mf.unsafeGetDirectURL("perks-edge-bench")), floorUrl: trimmed(await mf.unsafeGetDirectURL("floor")) };
}

/** Runs SQL files' statements against the D1 binding, one batch (transaction) per file. */
export async function applySql(db, files) {
  const { unstable_splitSqlQuery: split } = await wranglerApi();
  for (const { name, text } of files) {
    const statements = split(text).filter((s) => s.trim());
    if (statements.length === 0) continue;
    try {
      await db.batch(statements.map((s) => db.prepare(s)));
    } catch (error) {
      throw new Error(`applying ${name} failed: ${error?.message ?? error}`);
    }
  }
}

export function migrationFiles() {
  const dir = join(ROOT, "migrations");
  return readdirSync(dir)
    .filter((f) => f.endsWith(".sql"))
    .sort()
    .map((f) => ({ name: f, text: readFileSync(join(dir, f), "utf8") }));
}

export function tempDir(prefix) {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}


/**
 * The Upstash REST bridge in its own process: in-process it would share one core's event loop
 * with autocannon, and the Redis-hit numbers would measure that contention.
 */
export function startBridgeProcess({ redisHost, redisPort }) {
  const token = randomBytes(16).toString("hex");
  const child = spawn(
    process.execPath,
    [join(ROOT, "scripts", "redis", "upstash-bridge.mjs"), "--port", "0", "--token", token, "--redis-host", redisHost, "--redis-port", String(redisPort)],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  return new Promise((resolve, reject) => {
    let out = "";
    child.once("error", reject);
    child.once("exit", (code) => reject(new Error(`the Redis bridge exited (${code}) before it was ready`)));
    child.stdout.on("data", (chunk) => {
      out += chunk;
      const url = /UPSTASH_REDIS_REST_URL=(\S+)/.exec(out)?.[1];
      if (!url) return;
      child.removeAllListeners("exit");
      resolve({ url, token, close: () => new Promise((done) => (child.exitCode === null ? (child.once("exit", done), child.kill("SIGTERM")) : done())) });
    });
  });
}
