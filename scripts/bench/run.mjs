// `npm run bench`: the worker's bundle in workerd through Miniflare (no wrangler dev proxy), seeded,
// driven by autocannon at fixed concurrency, each endpoint next to its floor (a bare Hono + jose
// worker in the same workerd doing only the platform work the endpoint cannot avoid). Prints the
// table and writes bench/results.json. `-- --probes` adds the where-the-time-goes probes.
// See bench/README.md for the method, the floors and the recorded runs.
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import { join, relative } from "node:path";
import { ensureRedis } from "../redis/ensure-redis.mjs";
import { seedDatabase } from "../seed.mjs";
import { runAll } from "../lib/d1.mjs";
import { ROOT } from "../lib/wrangler.mjs";
import {
  BENCH_OFFER,
  BENCH_PASSWORD,
  BENCH_USERS,
  BENCH_VOUCHER_UUID,
  HOT_AFFORDABLE,
  HOT_ATTEMPTS,
  HOT_USER,
  SCAN_PURCHASES,
  benchDataStatements,
  benchUser,
  scanReference,
} from "./data.mjs";
import { writeCountingEntry } from "./d1-counter.mjs";
import { FLOORS, buildPlan } from "./endpoints.mjs";
import { buildFloor, floorTablesSql, floorWorkerOptions } from "./floor.mjs";
import { CONNECTIONS, DURATION_SECONDS, formatTable, measure, workerdCpuSeconds } from "./load.mjs";
import { formatSummary, profileKeys, profiled, summarise, writeProfile } from "./profile.mjs";
import { applySql, buildBundle, migrationFiles, restart, startBridgeProcess, startWorker, tempDir, urls, withWorkers, workerOptions } from "./worker.mjs";

const PROBES = process.argv.includes("--probes");
/** `--profile=health_live,merchant_scan`: CPU profiles of these endpoints and their floors (scripts/bench/profile.mjs). */
const PROFILE = profileKeys();
/**
 * BENCH_ONLY=health_live,merchant_scan,hot: only these endpoint keys (and "hot" for the hot wallet),
 * for quick before/after comparisons while developing; the cold phase and the D1 counts run only
 * for the keys selected. Never for a recorded run.
 */
const ONLY = process.env.BENCH_ONLY ? new Set(process.env.BENCH_ONLY.split(",").map((k) => k.trim()).filter(Boolean)) : PROFILE;
const selected = (key) => !ONLY || ONLY.has(key);

const started = Date.now();
const log = (line) => console.log(`bench [${((Date.now() - started) / 1000).toFixed(1)}s] ${line}`);
const cleanups = [];

async function json(url, { method = "GET", token, body, headers: extra = {}, raw } = {}) {
  const headers = { "content-type": "application/json", ...extra };
  if (token) headers.authorization = `Bearer ${token}`;
  const response = await fetch(url, { method, headers, body: raw ?? (body === undefined ? undefined : JSON.stringify(body)) });
  const text = await response.text();
  let parsed = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // keep text
  }
  return { status: response.status, body: parsed };
}

async function login(base, username, password) {
  const r = await json(`${base}/api/v1/auth/login`, { method: "POST", body: { username, password } });
  if (r.status !== 200) throw new Error(`login ${username} failed: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body.access;
}

function machine() {
  const cpuinfo = readFileSync("/proc/cpuinfo", "utf8");
  const requireFromWrangler = createRequire(createRequire(join(ROOT, "package.json")).resolve("wrangler/package.json"));
  const requireFromMiniflare = createRequire(requireFromWrangler.resolve("miniflare"));
  const version = (require, name) => {
    try {
      return JSON.parse(readFileSync(require.resolve(`${name}/package.json`), "utf8")).version;
    } catch {
      return "unknown";
    }
  };
  return {
    cores: os.cpus().length,
    cpu_model: /model name\s*:\s*(.+)/.exec(cpuinfo)?.[1]?.trim() ?? os.cpus()[0]?.model ?? "unknown",
    memory_gb: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    workerd: version(requireFromMiniflare, "workerd"),
    miniflare: version(requireFromWrangler, "miniflare"),
    wrangler: version(createRequire(join(ROOT, "package.json")), "wrangler"),
    load_average_at_start: os.loadavg().map((n) => Math.round(n * 100) / 100),
  };
}

/** Polls until every activation left PENDING (the queue consumer runs after a ~1 s batch timeout). */
async function settle(base, pairs) {
  const deadline = Date.now() + 30_000;
  for (const pair of pairs) {
    for (;;) {
      const r = await json(`${base}/api/v1/activation/status/${pair.transactionId}`, { token: pair.token });
      if (r.status === 200 && r.body.status !== "PENDING") break;
      if (Date.now() > deadline) throw new Error(`activation ${pair.transactionId} still ${r.body?.status ?? r.status} after 30 s`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}

async function main() {
  const info = machine();
  log(`${info.cores} cores, ${info.cpu_model}, Node ${info.node}, workerd ${info.workerd}, load ${info.load_average_at_start.join(" ")}`);

  // BENCH_BUNDLE=<dir of a `wrangler deploy --dry-run --outdir`>: time that build (another commit's) instead.
  const { outdir, scriptPath, bundle } = await buildBundle(process.env.BENCH_BUNDLE);
  cleanups.push(() => rmSync(outdir, { recursive: true, force: true }));
  const floorPath = await buildFloor(outdir);
  log(`bundle ${(bundle.bytes / 1024).toFixed(1)} KiB, gzip ${(bundle.gzip_bytes / 1024).toFixed(1)} KiB; floor worker built`);

  const redisServer = await ensureRedis({ preferPort: 6379, log: (line) => log(line) });
  if (!redisServer) throw new Error("redis-server is required for the Redis-hit measurement (apt-get install redis-server)");
  cleanups.push(() => redisServer.stop());
  const bridge = await startBridgeProcess({ redisHost: redisServer.host, redisPort: redisServer.port });
  cleanups.push(() => bridge.close());
  const redis = { url: bridge.url, token: bridge.token };

  const data = tempDir("perks-bench-data-");
  cleanups.push(() => data.remove());
  // Phase "warm": Redis and the read cache on. Phase "cold": no Redis, READ_CACHE_SECONDS=0.
  const options = async ({ script = scriptPath, extraModules = [], withRedis = true, cache = true } = {}) => {
    const app = await workerOptions({ scriptPath: script, extraModules, redis: withRedis ? redis : null, persistPath: data.dir, vars: cache ? {} : { READ_CACHE_SECONDS: "0" } });
    const workers = withWorkers(app, floorWorkerOptions({ floorPath, app, redis }));
    // The inspector (on a free port) only when profiling: it is not free for workerd.
    return PROFILE ? { ...workers, inspectorPort: 0 } : workers;
  };
  const { mf } = await startWorker(await options());
  cleanups.push(() => mf.dispose());
  let { url: base, floorUrl } = await urls(mf);

  const db = await mf.getD1Database("DB");
  await applySql(db, migrationFiles());
  await seedDatabase(db);
  const voucherCost = Number((await db.prepare("SELECT value FROM site_settings WHERE key = 'voucher_cost'").first()).value);
  // In batches: one batch of all ~650 bound statements is more than the Node-to-workerd proxy carries.
  const benchStatements = await benchDataStatements({ voucherCost });
  for (let i = 0; i < benchStatements.length; i += 100) await runAll(db, benchStatements.slice(i, i + 100), { name: "bench data" });
  const offerId = (await db.prepare("SELECT id FROM offers WHERE name = ?").bind(BENCH_OFFER).first()).id;
  const voucherId = (await db.prepare("SELECT id FROM vouchers WHERE uuid = ?").bind(BENCH_VOUCHER_UUID).first()).id;
  const userIds = (await db.prepare("SELECT id FROM users WHERE username LIKE 'bench_user_%' OR username = 'bench_merchant'").all()).results.map((r) => r.id);
  const hotUserId = (await db.prepare("SELECT id FROM users WHERE username = ?").bind(HOT_USER).first()).id;
  await applySql(db, [{ name: "floor tables", text: floorTablesSql({ userIds, hotUserId, hotBalance: HOT_AFFORDABLE * 1000, funds: 1_000_000_000 }) }]);
  const scanRedemptionIds = (await db.prepare("SELECT id FROM voucher_redemptions WHERE purchase_reference LIKE 'VCH-BENCH%' ORDER BY id").all()).results.map((r) => r.id);
  log(`worker at ${base}, floor at ${floorUrl}, migrations and data applied (voucher_cost ${voucherCost})`);

  const tokens = [];
  for (let i = 0; i < BENCH_USERS; i += 8)
    tokens.push(...(await Promise.all(Array.from({ length: Math.min(8, BENCH_USERS - i) }, (_, k) => login(base, benchUser(i + k), BENCH_PASSWORD)))));
  const merchantToken = await login(base, "bench_merchant", BENCH_PASSWORD);
  const hotToken = await login(base, HOT_USER, BENCH_PASSWORD);

  // Activations to poll: two per user, settled, so status reads a finished transaction.
  const statusPairs = [];
  for (const token of tokens)
    for (let k = 0; k < 2; k++) {
      const r = await json(`${base}/api/v1/activation`, { method: "POST", token, body: { offer_id: offerId } });
      if (r.status !== 202) throw new Error(`activation fixture failed: ${r.status} ${JSON.stringify(r.body)}`);
      statusPairs.push({ token, transactionId: r.body.transaction_id });
    }
  await settle(base, statusPairs);
  log(`${tokens.length} users logged in, ${statusPairs.length} activations settled`);

  const plan = buildPlan({ tokens, merchantToken, statusPairs, offerId, voucherId, scanRedemptionIds, runId: Date.now().toString(36) });
  const floors = {};
  const results = [];
  // Each measurement starts with the queues worked off and waits for them again after, counting that work's CPU too.
  const queuesWorkedOff = () => drained(mf);
  const cpuLine = (m) => `${m.cpu_us} µs workerd CPU per request (${m.cpu_us_settled} µs with the queue work it left, drained in ${m.settled_ms} ms)`;
  const measureFloor = async (key, phase) => {
    const measured = await measure(floorUrl, plan.floors[key], { settle: queuesWorkedOff });
    floors[`${key}:${phase}`] = { key, phase, ...FLOORS[key], ...measured };
    log(`floor ${FLOORS[key].name} [${phase}]: ${measured.rps} req/s, p50 ${measured.p50_ms} ms, p99 ${measured.p99_ms} ms, ${cpuLine(measured)}, errors ${measured.errors}`);
  };
  const runPhase = async (phase) => {
    let lastFloor = null;
    for (const endpoint of plan.endpoints.filter((e) => e.phase === phase && selected(e.key))) {
      // Each endpoint right after its floor, so the two see the same machine; and neither while the
      // queue consumers still work off what an earlier endpoint sent (activations, notifications):
      // every measurement waits for them before and after (`settle`).
      if (lastFloor !== endpoint.floor) await measureFloor(endpoint.floor, phase);
      lastFloor = endpoint.floor;
      if (endpoint.reference) await measureFloor(endpoint.reference, phase);
      const row = {
        name: endpoint.name,
        key: endpoint.key,
        floor_key: `${endpoint.floor}:${phase}`,
        ...(endpoint.reference ? { reference_key: `${endpoint.reference}:${phase}` } : {}),
        phase,
      };
      // An endpoint whose route has not landed stays in the table, marked, instead of timing 404s.
      const probe = endpoint.next();
      const answer = await json(`${base}${probe.path}`, { method: probe.method, headers: probe.headers, raw: probe.body });
      if (answer.status === 404 && answer.body?.error === "No route matches this path.") {
        results.push({ ...row, available: false });
        log(`${endpoint.name}: not available (no route)`);
        continue;
      }
      if (answer.status >= 300) log(`${endpoint.name}: the probe answered ${answer.status} ${JSON.stringify(answer.body)}`);
      const measured = await measure(base, endpoint.next, { settle: queuesWorkedOff });
      results.push({ ...row, available: true, ...measured });
      log(`${endpoint.name}: ${measured.rps} req/s, p50 ${measured.p50_ms} ms, p99 ${measured.p99_ms} ms, ${cpuLine(measured)}, errors ${measured.errors}`);
      if (PROFILE?.has(endpoint.key)) await profileEndpoint(endpoint, phase);
    }
  };
  // A profiled run of its own after the timed one (sampling slows the isolate): the floor's, then the endpoint's.
  const profiles = [];
  const profileRun = async (workerName, url, next, name) => {
    const { profile, requests } = await profiled(mf, workerName, async () => (await measure(url, next, { warmup: false, settle: queuesWorkedOff })).requests);
    const summary = summarise(profile, requests, outdir);
    profiles.push({ name, file: writeProfile(name, profile), summary });
    console.log(formatSummary(name, summary));
  };
  const profiledFloors = new Set();
  const profileEndpoint = async (endpoint, phase) => {
    if (!profiledFloors.has(`${endpoint.floor}:${phase}`)) {
      profiledFloors.add(`${endpoint.floor}:${phase}`);
      await profileRun("floor", floorUrl, plan.floors[endpoint.floor], `floor-${endpoint.floor}-${phase}`);
    }
    await profileRun("perks-edge-bench", base, endpoint.next, `${endpoint.key}-${phase}`);
  };

  await runPhase("warm");
  if (PROBES) await drained(mf);
  const probes = PROBES ? await runProbes(floorUrl, plan, measureFloor, floors) : null;
  const hot = selected("hot")
    ? await hotWallet(`${base}/api/v1/voucher-purchase/purchase/`, db, "balance", "wallets", hotToken, { voucher_id: voucherId }, voucherCost)
    : null;
  if (hot) {
    const floorHot = await hotWallet(`${floorUrl}/floor/hot`, db, "balance", "floor_wallets", hotToken, {}, 1000);
    hot.floor = floorHot;
    hot.ratio = Math.round((hot.rps / floorHot.rps) * 100) / 100;
    if (hot.cpu_us && floorHot.cpu_us) hot.cpu_ratio = Math.round((floorHot.cpu_us / hot.cpu_us) * 100) / 100;
    // The reference: the floor's single object writing the purchase's rows too, from the same balance.
    await db.prepare("UPDATE floor_wallets SET balance = ? WHERE user_id = (SELECT id FROM users WHERE username = ?)").bind(floorHot.start_balance, HOT_USER).run();
    const referenceHot = await hotWallet(`${floorUrl}/floor/hot-purchase-rows`, db, "balance", "floor_wallets", hotToken, { voucher_id: voucherId }, 1000);
    hot.reference = referenceHot;
    hot.reference_ratio = Math.round((hot.rps / referenceHot.rps) * 100) / 100;
    if (hot.cpu_us && referenceHot.cpu_us) hot.reference_cpu_ratio = Math.round((referenceHot.cpu_us / hot.cpu_us) * 100) / 100;
    log(`hot wallet: ${hot.successes}/${HOT_ATTEMPTS} in ${hot.elapsed_ms} ms (${hot.rps} req/s, ${hot.cpu_us} µs workerd CPU per purchase; floor ${floorHot.rps} req/s, ${floorHot.cpu_us} µs; ratio ${hot.ratio}, CPU ratio ${hot.cpu_ratio}), checks ${hot.balance_ok && floorHot.balance_ok && referenceHot.balance_ok ? "ok" : "FAILED"}`);
    log(`hot wallet against the floor's object writing the purchase's rows too: ${referenceHot.rps} req/s, ${referenceHot.cpu_us} µs; ratio ${hot.reference_ratio}, CPU ratio ${hot.reference_cpu_ratio}`);
    for (const [what, n] of Object.entries({ ...hot.other_answers })) log(`hot wallet: ${n} answered ${what}`);
    for (const [what, n] of Object.entries({ ...floorHot.other_answers })) log(`hot wallet floor: ${n} answered ${what}`);
  }

  // Cold: the same data, restarted with no Redis and the read cache off, so every read goes to D1.
  if (plan.endpoints.some((e) => e.phase === "cold" && selected(e.key))) {
    ({ url: base, floorUrl } = await restart(mf, await options({ withRedis: false, cache: false })));
    await runPhase("cold");
  }

  // D1 round trips per request, counted by a wrapper around the same bundle (not in the timed runs).
  const countingScript = writeCountingEntry(outdir);
  const available = new Set(results.filter((r) => r.available).map((r) => r.key));
  const d1 = {};
  for (const phase of ["warm", "cold"]) {
    const warm = phase === "warm";
    if (!plan.endpoints.some((e) => e.phase === phase && available.has(e.key))) continue;
    ({ url: base } = await restart(mf, await options({ script: countingScript, extraModules: [scriptPath], withRedis: warm, cache: warm })));
    // Steady state, as in the timed runs: each user's "still active" check is cached per isolate.
    for (const token of [...tokens, merchantToken]) await json(`${base}/api/v1/account/`, { token });
    Object.assign(d1, await countQueries(base, plan.endpoints.filter((e) => e.phase === phase && available.has(e.key))));
  }
  for (const r of results) if (r.available) r.d1 = d1[r.key];

  for (const r of results) {
    const floor = floors[r.floor_key];
    if (!r.available || !floor) continue;
    r.floor = { name: floor.name, rps: floor.rps, p50_ms: floor.p50_ms, p99_ms: floor.p99_ms, cpu_us: floor.cpu_us, cpu_us_settled: floor.cpu_us_settled, d1_round_trips: floor.d1 };
    r.ratio = Math.round((r.rps / floor.rps) * 100) / 100;
    // What the ratio would be on cores given to workerd alone: the floor's CPU per request over the endpoint's.
    if (r.cpu_us && floor.cpu_us) r.cpu_ratio = Math.round((floor.cpu_us / r.cpu_us) * 100) / 100;
    // The same counting the queue work each left behind (what a consumer that falls behind defers).
    if (r.cpu_us_settled && floor.cpu_us_settled) r.cpu_ratio_settled = Math.round((floor.cpu_us_settled / r.cpu_us_settled) * 100) / 100;
    r.p99_ratio = floor.p99_ms > 0 ? Math.round((r.p99_ms / floor.p99_ms) * 100) / 100 : undefined;
    // A write whose work a queue consumer finishes, judged when that work is done too (see formatCompletion).
    if (floor.consumed && r.sustained_rps && floor.sustained_rps)
      r.to_completion = {
        cpu_us: r.cpu_us_settled,
        floor_cpu_us: floor.cpu_us_settled,
        cpu_ratio: r.cpu_ratio_settled,
        caught_up_ms: r.settled_ms,
        floor_caught_up_ms: floor.settled_ms,
        sustained_rps: r.sustained_rps,
        floor_sustained_rps: floor.sustained_rps,
        sustained_ratio: Math.round((r.sustained_rps / floor.sustained_rps) * 100) / 100,
      };
    // The same three ratios against the reference (the floor plus required work it leaves out).
    const reference = floors[r.reference_key];
    if (reference) {
      r.reference = { name: reference.name, rps: reference.rps, p50_ms: reference.p50_ms, p99_ms: reference.p99_ms, cpu_us: reference.cpu_us, cpu_us_settled: reference.cpu_us_settled };
      r.reference_ratio = Math.round((r.rps / reference.rps) * 100) / 100;
      if (r.cpu_us && reference.cpu_us) r.reference_cpu_ratio = Math.round((reference.cpu_us / r.cpu_us) * 100) / 100;
      if (r.cpu_us_settled && reference.cpu_us_settled) r.reference_cpu_ratio_settled = Math.round((reference.cpu_us_settled / r.cpu_us_settled) * 100) / 100;
      r.reference_p99_ratio = reference.p99_ms > 0 ? Math.round((r.p99_ms / reference.p99_ms) * 100) / 100 : undefined;
    }
  }
  // The D1 proxy from before the restarts is stale; the data persisted on disk.
  const consistency = await conservation(await mf.getD1Database("DB"));
  // The floor's notifications are delivered by its own consumer while they are timed, like the API's.
  const floorDelivery = await (await mf.getD1Database("DB")).prepare("SELECT COUNT(*) AS sent_or_queued, SUM(status = 'sent') AS sent FROM floor_notifications").first();
  const floorCompletion = await (await mf.getD1Database("DB")).prepare("SELECT COUNT(*) AS made, SUM(status = 'SUCCESS') AS completed FROM floor_activations").first();

  const output = {
    generated_at: new Date().toISOString(),
    machine: { ...info, load_average_at_end: os.loadavg().map((x) => Math.round(x * 100) / 100) },
    method: {
      runner: "workerd via Miniflare (wrangler's own), bundle from `wrangler deploy --dry-run`; no wrangler dev proxy; the floor worker runs in the same workerd with the same D1 database",
      load_generator: `autocannon, ${CONNECTIONS} connections, ${DURATION_SECONDS} s per endpoint after a short warm-up; each endpoint measured right after its floor`,
      errors: "non-2xx responses + socket errors + timeouts",
      ratio: "endpoint req/s divided by its floor's req/s, measured in the same phase of the same run",
      cpu_ratio: "the floor's workerd CPU time per request divided by the endpoint's (utime + stime of the workerd process from /proc over the measured seconds, over the requests answered)",
      d1_counting:
        "a wrapper entry proxies env.DB and its sessions (worker and wallet Durable Object): each first/all/run/raw/batch/exec is one round trip; a batch of n is n statements; a write, a query without a session or the first query of a first-primary session goes to the primary; one request at a time, median of 3",
    },
    bundle,
    floors,
    endpoints: results,
    probes,
    profiles: PROFILE ? profiles.map(({ name, file, summary }) => ({ name, file: relative(ROOT, file), ...summary })) : undefined,
    hot_wallet: hot,
    conservation: consistency,
    duration_s: Math.round((Date.now() - started) / 100) / 10,
  };
  // A partial run (BENCH_ONLY) must not overwrite the recorded results.
  const resultsFile = ONLY ? join(os.tmpdir(), `perks-bench-partial-${Date.now()}.json`) : join(ROOT, "bench", "results.json");
  writeFileSync(resultsFile, `${JSON.stringify({ ...output, only: ONLY ? [...ONLY] : undefined }, null, 2)}\n`);

  console.log(`\n${formatTable(results, floors)}\n`);
  const referenceLines = formatReferences(results);
  if (referenceLines) console.log(`${referenceLines}\n`);
  const completionLines = formatCompletion(results);
  if (completionLines) console.log(`${completionLines}\n`);
  if (probes) console.log(`${formatProbes(probes)}\n`);
  for (const p of profiles) console.log(`profile ${p.name}: ${p.summary.us_per_request} µs of the isolate's CPU per request (${relative(ROOT, p.file)})`);
  if (hot) console.log(
    `hot wallet: ${HOT_ATTEMPTS} concurrent purchases, ${hot.successes} succeeded, ${hot.refused} refused for balance, ${hot.rps} req/s ` +
      `(floor: one object's serialised batches, ${hot.floor.rps} req/s; ratio ${hot.ratio}; CPU ${hot.cpu_us} against ${hot.floor.cpu_us} µs a purchase, CPU ratio ${hot.cpu_ratio}); final balance ${hot.final_balance} = start ${hot.start_balance} - ${hot.successes} x ${voucherCost}: ${hot.balance_ok ? "ok" : "MISMATCH"}` +
      (hot.reference ? `\n  against the floor's object writing the purchase's rows too: ${hot.reference.rps} req/s, ${hot.reference.cpu_us} µs a purchase; ratio ${hot.reference_ratio}, CPU ratio ${hot.reference_cpu_ratio}` : ""),
  );
  console.log(`bundle: ${(bundle.bytes / 1024).toFixed(1)} KiB, gzip ${(bundle.gzip_bytes / 1024).toFixed(1)} KiB`);
  if (floorDelivery.sent_or_queued > 0) console.log(`floor notifications delivered by its consumer by the end: ${floorDelivery.sent} of ${floorDelivery.sent_or_queued}`);
  if (floorCompletion.made > 0) console.log(`floor activations completed by its consumer by the end: ${floorCompletion.completed} of ${floorCompletion.made}`);
  console.log(`conservation over ${consistency.wallets} wallets: ${consistency.mismatches.length === 0 ? "ok" : `MISMATCH ${JSON.stringify(consistency.mismatches)}`}`);
  log(`wrote ${resultsFile}`);
  if ((hot && (!hot.balance_ok || !hot.floor.balance_ok || hot.reference?.balance_ok === false)) || consistency.mismatches.length > 0) process.exitCode = 1;
}

/**
 * Waits (up to a minute) until the queue consumers have worked off what the timed requests sent:
 * activations still PENDING, notifications still queued (the API's and the floor's). Otherwise
 * that work would run during the next measurement and charge one endpoint for another's messages.
 */
async function drained(mf, limitMs = 60_000) {
  const started = Date.now();
  let left = 0;
  while (Date.now() - started < limitMs) {
    const db = await mf.getD1Database("DB");
    left = (
      await db
        .prepare(
          `SELECT (SELECT COUNT(*) FROM transactions WHERE status = 'PENDING') + (SELECT COUNT(*) FROM notifications WHERE status = 'queued')
                + (SELECT COUNT(*) FROM floor_notifications WHERE status = 'queued') + (SELECT COUNT(*) FROM floor_activations WHERE status = 'PENDING') AS n`,
        )
        .first()
    ).n;
    if (left === 0) break;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  const waited = Date.now() - started;
  if (waited > 1000 || left > 0) log(`queues drained in ${(waited / 1000).toFixed(1)} s${left > 0 ? ` (${left} still pending)` : ""}`);
}

/** Each probe is the scan's floor plus one cost; the difference is that cost per request. */
async function runProbes(floorUrl, plan, measureFloor, floors) {
  await measureFloor("scan", "probes");
  const base = floors["scan:probes"];
  const out = { baseline: { rps: base.rps, p99_ms: base.p99_ms, cpu_us: base.cpu_us } };
  for (const probe of plan.probes) {
    const measured = await measure(floorUrl, probe.next);
    const costUs = Math.round((1 / measured.rps - 1 / base.rps) * 1e6);
    // The same difference in workerd's CPU per request, which other work on the machine moves less.
    const cpuCostUs = measured.cpu_us !== null && base.cpu_us !== null ? measured.cpu_us - base.cpu_us : null;
    out[probe.key] = { ...measured, cost_us_per_request: costUs, cpu_cost_us_per_request: cpuCostUs };
    log(`probe ${probe.key}: ${measured.rps} req/s (${costUs} µs per request over the scan floor; ${cpuCostUs} µs of workerd CPU), errors ${measured.errors}`);
  }
  return out;
}

/** Under the table: each endpoint against its reference (its floor plus required work the floor leaves out). */
function formatReferences(results) {
  const lines = results
    .filter((r) => r.reference)
    .map(
      (r) =>
        `  ${r.name}: against "${r.reference.name}" (${r.reference.rps} req/s, p99 ${r.reference.p99_ms} ms, ${r.reference.cpu_us} µs CPU): ` +
        `ratio ${r.reference_ratio?.toFixed(2) ?? ""}, p99 / reference ${r.reference_p99_ratio?.toFixed(2) ?? ""}, CPU ratio ${r.reference_cpu_ratio?.toFixed(2) ?? ""} ` +
        `(to its floor: ${r.ratio?.toFixed(2) ?? ""}, ${r.p99_ratio?.toFixed(2) ?? ""}, ${r.cpu_ratio?.toFixed(2) ?? ""})`,
    );
  return lines.length ? ["against a reference (the floor plus required work it leaves out):", ...lines].join("\n") : "";
}

/**
 * Under the table: the writes whose work a queue consumer in the same workerd finishes. Their
 * measured seconds end with part of that work still queued (more of it the further a consumer
 * falls behind), so they are also compared once every request's work is done: the CPU per request
 * counted until the consumers caught up, and the sustained rate (requests over the measured
 * seconds plus that wait).
 */
function formatCompletion(results) {
  const lines = results
    .filter((r) => r.to_completion)
    .map((r) => {
      const t = r.to_completion;
      return (
        `  ${r.name}: ${t.cpu_us} µs CPU per request (floor ${t.floor_cpu_us}), CPU ratio ${t.cpu_ratio?.toFixed(2) ?? ""}; ` +
        `caught up ${t.caught_up_ms} ms after the measured seconds (floor ${t.floor_caught_up_ms} ms); sustained ${t.sustained_rps} req/s (floor ${t.floor_sustained_rps}), ratio ${t.sustained_ratio.toFixed(2)}`
      );
    });
  return lines.length ? ["to completion (the queue work each request left counted until the consumers caught up):", ...lines].join("\n") : "";
}

function formatProbes(probes) {
  const lines = [`probes (scan floor ${probes.baseline.rps} req/s, ${probes.baseline.cpu_us} µs workerd CPU per request, + one cost each):`];
  for (const [key, p] of Object.entries(probes))
    if (key !== "baseline")
      lines.push(`  ${key.padEnd(34)} ${String(p.rps).padStart(8)} req/s  ${String(p.cost_us_per_request).padStart(6)} µs/request  ${String(p.cpu_cost_us_per_request).padStart(6)} µs CPU/request  errors ${p.errors}`);
  return lines.join("\n");
}

/** 500 purchases at once against one wallet (the API's, or the floor's own table) that can afford HOT_AFFORDABLE. */
async function hotWallet(url, db, column, table, token, body, cost) {
  const userId = (await db.prepare("SELECT id FROM users WHERE username = ?").bind(HOT_USER).first()).id;
  const balance = async () => (await db.prepare(`SELECT ${column} AS b FROM ${table} WHERE user_id = ?`).bind(userId).first()).b;
  const ledger = table === "wallets" ? "ledger_entries" : "floor_ledger";
  const startBalance = await balance();
  const ledgerBefore = (await db.prepare(`SELECT COALESCE(SUM(amount), 0) AS s FROM ${ledger} WHERE user_id = ?`).bind(userId).first()).s;
  let k = 0;
  const cpuBefore = workerdCpuSeconds();
  const t0 = performance.now();
  const responses = await Promise.all(
    Array.from({ length: HOT_ATTEMPTS }, () =>
      json(url, { method: "POST", token, body, headers: { "idempotency-key": `bench-hot-${table}-${k++}-${Date.now()}` } }),
    ),
  );
  const elapsed = performance.now() - t0;
  const cpuAfter = workerdCpuSeconds();
  const successes = responses.filter((r) => r.status >= 200 && r.status < 300).length;
  const refused = responses.filter((r) => r.body?.code === "INSUFFICIENT_BALANCE").length;
  // Any other answer is a failure of the run: say which, so it can be reproduced.
  const otherAnswers = {};
  for (const r of responses)
    if (!(r.status >= 200 && r.status < 300) && r.body?.code !== "INSUFFICIENT_BALANCE") {
      const what = `${r.status} ${r.body?.code ?? ""} ${r.body?.error ?? String(r.body).slice(0, 80)}`.trim();
      otherAnswers[what] = (otherAnswers[what] ?? 0) + 1;
    }
  const finalBalance = await balance();
  const ledgerSum = (await db.prepare(`SELECT COALESCE(SUM(amount), 0) AS s FROM ${ledger} WHERE user_id = ?`).bind(userId).first()).s;
  const expected = Math.min(HOT_ATTEMPTS, HOT_AFFORDABLE);
  return {
    attempts: HOT_ATTEMPTS,
    successes,
    refused,
    other: HOT_ATTEMPTS - successes - refused,
    other_answers: otherAnswers,
    elapsed_ms: Math.round(elapsed),
    rps: Math.round((HOT_ATTEMPTS / elapsed) * 1000 * 10) / 10,
    // workerd's CPU per purchase, as in the table: what the rate is made of once the cores are busy.
    cpu_us: cpuBefore === null ? null : Math.round(((cpuAfter - cpuBefore) / HOT_ATTEMPTS) * 1e6),
    start_balance: startBalance,
    final_balance: finalBalance,
    ledger_sum: ledgerSum,
    expected_successes: expected,
    // The API's wallet: balance = ledger sum. The floor's table starts without a ledger: the change equals its ledger rows.
    balance_ok:
      finalBalance === startBalance - successes * cost &&
      (table === "wallets" ? finalBalance === ledgerSum : ledgerSum - ledgerBefore === -successes * cost) &&
      successes === expected,
  };
}

/** One request at a time, median of three; warm rows on the warm worker (a cache hit counts 0). */
async function countQueries(base, endpoints) {
  const read = async () => (await fetch(`${base}/__bench/d1`)).json();
  const once = async (request) => {
    await read();
    const response = await fetch(`${base}${request.path}`, { method: request.method, headers: request.headers, body: request.body });
    await response.arrayBuffer();
    if (response.status >= 300) throw new Error(`counting ${request.method} ${request.path}: ${response.status}`);
    return read();
  };
  const counts = {};
  for (const endpoint of endpoints) {
    const runs = [];
    for (let i = 0; i < 3; i++) runs.push(await once(endpoint.next()));
    runs.sort((a, b) => a.round_trips - b.round_trips);
    counts[endpoint.key] = runs[1];
  }
  return counts;
}

async function conservation(db) {
  const mismatches = (
    await db
      .prepare(
        `SELECT w.user_id, w.balance, COALESCE((SELECT SUM(amount) FROM ledger_entries l WHERE l.user_id = w.user_id), 0) AS ledger_sum
           FROM wallets w WHERE w.balance != COALESCE((SELECT SUM(amount) FROM ledger_entries l WHERE l.user_id = w.user_id), 0)`,
      )
      .all()
  ).results;
  const wallets = (await db.prepare("SELECT COUNT(*) AS n FROM wallets").first()).n;
  return { wallets, mismatches };
}

main()
  .catch((error) => {
    console.error(`bench: ${error?.stack ?? error}`);
    process.exitCode = 1;
  })
  .finally(async () => {
    for (const cleanup of cleanups.reverse()) await Promise.resolve().then(cleanup).catch(() => {});
    log("done");
  });
