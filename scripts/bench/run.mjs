// `npm run bench`: the worker's bundle in workerd through Miniflare (no wrangler dev proxy), seeded,
// driven by autocannon at fixed concurrency. Prints a table per endpoint and writes
// bench/results.json. See bench/README.md for the method and one recorded run.
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import { join } from "node:path";
import { ensureRedis } from "../redis/ensure-redis.mjs";
import { buildSeedSql } from "../seed.mjs";
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
  benchDataSql,
  benchUser,
  scanReference,
} from "./data.mjs";
import { writeCountingEntry } from "./d1-counter.mjs";
import { CONNECTIONS, DURATION_SECONDS, formatTable, measure } from "./load.mjs";
import { applySql, buildBundle, migrationFiles, startBridgeProcess, miniflareOptions, startWorker, tempDir, workerOptions } from "./worker.mjs";

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

  const { outdir, scriptPath, bundle } = await buildBundle();
  cleanups.push(() => rmSync(outdir, { recursive: true, force: true }));
  log(`bundle ${(bundle.bytes / 1024).toFixed(1)} KiB, gzip ${(bundle.gzip_bytes / 1024).toFixed(1)} KiB`);

  const redisServer = await ensureRedis({ preferPort: 6379, log: (line) => log(line) });
  if (!redisServer) throw new Error("redis-server is required for the Redis-hit measurement (apt-get install redis-server)");
  cleanups.push(() => redisServer.stop());
  const bridge = await startBridgeProcess({ redisHost: redisServer.host, redisPort: redisServer.port });
  cleanups.push(() => bridge.close());
  const redis = { url: bridge.url, token: bridge.token };

  const data = tempDir("perks-bench-data-");
  cleanups.push(() => data.remove());
  const options = await workerOptions({ scriptPath, redis, persistPath: data.dir });
  const { mf, url: base } = await startWorker(options);
  cleanups.push(() => mf.dispose());

  const db = await mf.getD1Database("DB");
  await applySql(db, migrationFiles());
  await applySql(db, [{ name: "seed.mjs", text: buildSeedSql() }]);
  const voucherCost = Number((await db.prepare("SELECT value FROM site_settings WHERE key = 'voucher_cost'").first()).value);
  await applySql(db, [{ name: "bench data", text: benchDataSql({ voucherCost }) }]);
  const offerId = (await db.prepare("SELECT id FROM offers WHERE name = ?").bind(BENCH_OFFER).first()).id;
  const voucherId = (await db.prepare("SELECT id FROM vouchers WHERE uuid = ?").bind(BENCH_VOUCHER_UUID).first()).id;
  log(`worker at ${base}, migrations and data applied (voucher_cost ${voucherCost})`);

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

  let n = 0;
  const auth = (token) => ({ authorization: `Bearer ${token}`, "content-type": "application/json" });
  const userToken = () => tokens[n++ % tokens.length];
  const status = () => {
    const pair = statusPairs[n++ % statusPairs.length];
    return { method: "GET", path: `/api/v1/activation/status/${pair.transactionId}`, headers: auth(pair.token) };
  };
  const endpoints = [
    { name: "health live (baseline)", key: "health_live", next: () => ({ method: "GET", path: "/api/v1/health/live" }) },
    { name: "offers list", key: "offers_list", next: () => ({ method: "GET", path: "/api/v1/offers/", headers: auth(userToken()) }) },
    { name: "public voucher search", key: "public_voucher_search", next: () => ({ method: "GET", path: "/api/v1/public-vouchers/?search=coffee" }) },
    {
      name: "merchant scan",
      key: "merchant_scan",
      next: () => ({
        method: "POST",
        path: "/api/v1/merchant/scan/scan/",
        headers: auth(merchantToken),
        body: JSON.stringify({ qr_data: scanReference(n++ % SCAN_PURCHASES) }),
      }),
    },
    { name: "activation status (Redis hit)", key: "activation_status_redis", next: status },
    {
      name: "activation",
      key: "activation",
      next: () => ({ method: "POST", path: "/api/v1/activation/", headers: auth(userToken()), body: JSON.stringify({ offer_id: offerId }) }),
    },
    {
      name: "voucher purchase",
      key: "voucher_purchase",
      next: () => ({ method: "POST", path: "/api/v1/voucher-purchase/purchase/", headers: auth(userToken()), body: JSON.stringify({ voucher_id: voucherId }) }),
    },
    {
      name: "notification send",
      key: "notification_send",
      next: () => ({
        method: "POST",
        path: "/api/v1/notifications/send/",
        headers: auth(userToken()),
        body: JSON.stringify({ title: "Bench", message: "A benchmark notification", recipient_type: "email", recipient: "bench@example.com" }),
      }),
    },
  ];

  const results = [];
  for (const endpoint of endpoints) {
    // An endpoint whose route has not landed stays in the table, marked, instead of timing 404s.
    const probe = endpoint.next();
    const answer = await json(`${base}${probe.path}`, { method: probe.method, headers: probe.headers, raw: probe.body });
    if (answer.status === 404 && answer.body?.error === "No route matches this path.") {
      results.push({ name: endpoint.name, key: endpoint.key, available: false });
      log(`${endpoint.name}: not available (no route)`);
      continue;
    }
    if (answer.status >= 300) log(`${endpoint.name}: the probe answered ${answer.status} ${JSON.stringify(answer.body)}`);
    const measured = await measure(base, endpoint.next);
    results.push({ name: endpoint.name, key: endpoint.key, available: true, ...measured });
    log(`${endpoint.name}: ${measured.rps} req/s, p50 ${measured.p50_ms} ms, p99 ${measured.p99_ms} ms, errors ${measured.errors}`);
  }

  const hot = await hotWallet(base, db, hotToken, voucherId, voucherCost);
  log(`hot wallet: ${hot.successes}/${HOT_ATTEMPTS} purchases in ${hot.elapsed_ms} ms (${hot.rps} req/s), balance check ${hot.balance_ok ? "ok" : "FAILED"}`);

  // D1 fallback: the same worker and data, with no Redis configured, so every read goes to D1.
  await mf.setOptions(await miniflareOptions(await workerOptions({ scriptPath, redis: null, persistPath: data.dir })));
  const fallback = await measure(base, status);
  results.splice(results.findIndex((r) => r.key === "activation_status_redis") + 1, 0, { name: "activation status (D1 fallback)", key: "activation_status_d1", available: true, ...fallback });
  log(`activation status (D1 fallback): ${fallback.rps} req/s, p50 ${fallback.p50_ms} ms, p99 ${fallback.p99_ms} ms, errors ${fallback.errors}`);

  // D1 round trips per request, counted by a wrapper around the same bundle (not in the timed runs).
  const countingScript = writeCountingEntry(outdir);
  await mf.setOptions(await miniflareOptions(await workerOptions({ scriptPath: countingScript, extraModules: [scriptPath], redis, persistPath: data.dir })));
  const available = new Set(results.filter((r) => r.available).map((r) => r.key));
  const d1 = await countQueries(base, endpoints.filter((e) => available.has(e.key)), statusPairs, bridge);
  for (const r of results) if (r.available) r.d1 = d1[r.key];

  const baseline = results.find((r) => r.key === "health_live").rps;
  for (const r of results) if (r.available) r.ratio = Math.round((r.rps / baseline) * 100) / 100;
  // The D1 proxy from before the restarts is stale; the data persisted on disk.
  const consistency = await conservation(await mf.getD1Database("DB"));

  const output = {
    generated_at: new Date().toISOString(),
    machine: { ...info, load_average_at_end: os.loadavg().map((x) => Math.round(x * 100) / 100) },
    method: {
      runner: "workerd via Miniflare (wrangler's own), bundle from `wrangler deploy --dry-run`; no wrangler dev proxy",
      load_generator: `autocannon, ${CONNECTIONS} connections, ${DURATION_SECONDS} s per endpoint after a 1 s warm-up`,
      errors: "non-2xx responses + socket errors + timeouts",
      d1_counting: "a wrapper entry proxies env.DB (worker and wallet Durable Object): each first/all/run/raw/batch/exec is one round trip; a batch of n is n statements; one request at a time, median of 3",
    },
    bundle,
    endpoints: results,
    hot_wallet: hot,
    conservation: consistency,
    duration_s: Math.round((Date.now() - started) / 100) / 10,
  };
  writeFileSync(join(ROOT, "bench", "results.json"), `${JSON.stringify(output, null, 2)}\n`);

  console.log(`\n${formatTable(results)}\n`);
  console.log(
    `hot wallet: ${HOT_ATTEMPTS} concurrent purchases, ${hot.successes} succeeded, ${hot.refused} refused for balance, ` +
      `${hot.rps} req/s; final balance ${hot.final_balance} = start ${hot.start_balance} - ${hot.successes} x ${voucherCost}: ${hot.balance_ok ? "ok" : "MISMATCH"}`,
  );
  console.log(`bundle: ${(bundle.bytes / 1024).toFixed(1)} KiB, gzip ${(bundle.gzip_bytes / 1024).toFixed(1)} KiB`);
  console.log(`conservation over ${consistency.wallets} wallets: ${consistency.mismatches.length === 0 ? "ok" : `MISMATCH ${JSON.stringify(consistency.mismatches)}`}`);
  log("wrote bench/results.json");
  if (!hot.balance_ok || consistency.mismatches.length > 0) process.exitCode = 1;
}

/** 500 purchases at once against one wallet that can afford HOT_AFFORDABLE of them. */
async function hotWallet(base, db, token, voucherId, cost) {
  const userId = (await db.prepare("SELECT id FROM users WHERE username = ?").bind(HOT_USER).first()).id;
  const balance = async () => (await db.prepare("SELECT balance FROM wallets WHERE user_id = ?").bind(userId).first()).balance;
  const startBalance = await balance();
  const t0 = performance.now();
  const responses = await Promise.all(
    Array.from({ length: HOT_ATTEMPTS }, () => json(`${base}/api/v1/voucher-purchase/purchase/`, { method: "POST", token, body: { voucher_id: voucherId } })),
  );
  const elapsed = performance.now() - t0;
  const successes = responses.filter((r) => r.status >= 200 && r.status < 300).length;
  const refused = responses.filter((r) => r.body?.code === "INSUFFICIENT_BALANCE").length;
  const finalBalance = await balance();
  const ledgerSum = (await db.prepare("SELECT COALESCE(SUM(amount), 0) AS s FROM ledger_entries WHERE user_id = ?").bind(userId).first()).s;
  return {
    attempts: HOT_ATTEMPTS,
    successes,
    refused,
    other: HOT_ATTEMPTS - successes - refused,
    elapsed_ms: Math.round(elapsed),
    rps: Math.round((HOT_ATTEMPTS / elapsed) * 1000 * 10) / 10,
    start_balance: startBalance,
    final_balance: finalBalance,
    ledger_sum: ledgerSum,
    expected_successes: Math.min(HOT_ATTEMPTS, HOT_AFFORDABLE),
    balance_ok: finalBalance === startBalance - successes * cost && finalBalance === ledgerSum && successes === Math.min(HOT_ATTEMPTS, HOT_AFFORDABLE),
  };
}

async function countQueries(base, endpoints, statusPairs, bridge) {
  const read = async () => (await fetch(`${base}/__bench/d1`)).json();
  const once = async (request) => {
    await read();
    const response = await fetch(`${base}${request.path}`, { method: request.method, headers: request.headers, body: request.body });
    await response.arrayBuffer();
    if (response.status >= 300) throw new Error(`counting ${request.method} ${request.path}: ${response.status}`);
    return read();
  };
  const median = async (make, before = async () => {}) => {
    const runs = [];
    for (let i = 0; i < 3; i++) {
      await before(i);
      runs.push(await once(make()));
    }
    runs.sort((a, b) => a.round_trips - b.round_trips);
    return runs[1];
  };
  const counts = {};
  for (const endpoint of endpoints) counts[endpoint.key] = await median(endpoint.next);
  // A Redis miss: the hash is deleted first, so the status is read from D1 (and the hash rebuilt).
  let i = 0;
  counts.activation_status_d1 = await median(
    () => {
      const pair = statusPairs[i++];
      return { method: "GET", path: `/api/v1/activation/status/${pair.transactionId}`, headers: { authorization: `Bearer ${pair.token}` } };
    },
    async (k) => {
      await fetch(bridge.url, {
        method: "POST",
        headers: { authorization: `Bearer ${bridge.token}`, "content-type": "application/json" },
        body: JSON.stringify(["DEL", `transaction:${statusPairs[k].transactionId}`]),
      });
    },
  );
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
