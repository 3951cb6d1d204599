// autocannon at fixed concurrency, and the table it all ends in.
import { readdirSync, readFileSync } from "node:fs";
import autocannon from "autocannon";

export const CONNECTIONS = 32;
/** Seconds measured per endpoint (BENCH_SECONDS overrides; short runs while developing). */
export const DURATION_SECONDS = Number(process.env.BENCH_SECONDS) || 3.5;
const WARMUP_SECONDS = Math.min(0.5, DURATION_SECONDS);

/** Linux's user-space clock tick (USER_HZ), fixed at 100 on every architecture Node runs on. */
const TICKS_PER_SECOND = 100;

/**
 * CPU seconds used so far by the workerd processes this Node process started (every isolate in
 * them: the API, the floor, D1's SQLite object, the rate-limit worker, and workerd's own work),
 * from /proc; null where there is no /proc. Unlike req/s, CPU time per request hardly changes when
 * other work shares the cores.
 */
export function workerdCpuSeconds() {
  let pids;
  try {
    pids = readdirSync("/proc").filter((name) => /^\d+$/.test(name));
  } catch {
    return null;
  }
  let ticks = 0;
  for (const pid of pids) {
    let stat;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    } catch {
      continue;
    }
    const open = stat.indexOf("(");
    const close = stat.lastIndexOf(")");
    if (stat.slice(open + 1, close) !== "workerd") continue;
    // After the command: state, ppid, ... utime (14th field) and stime (15th).
    const fields = stat.slice(close + 2).split(" ");
    if (Number(fields[1]) !== process.pid) continue;
    ticks += Number(fields[11]) + Number(fields[12]);
  }
  return ticks / TICKS_PER_SECOND;
}

/**
 * Requests whose work was all done, per second: those answered over the measured seconds plus the
 * time the queue consumers then took to catch up (a consumer that falls behind has not finished
 * the requests it was sent; the rate it can keep up with is this one, not the answered rate).
 */
const sustainedRps = (result, settledMs) => Math.round((result.requests.total / (result.duration + settledMs / 1000)) * 10) / 10;

/**
 * One endpoint: `next()` gives each request its {method, path, headers, body}, so requests can
 * rotate tokens, references and transaction ids. A short warm-up first (JIT, caches, DO start).
 * `settle`: waits until the queue consumers in the same workerd have worked off what was sent;
 * run after the warm-up (so the measured seconds start with no backlog) and after the measured
 * seconds, to count the CPU of the consumer work they left behind as well (`cpu_us_settled`).
 */
export async function measure(baseUrl, next, { connections = CONNECTIONS, duration = DURATION_SECONDS, warmup = true, settle } = {}) {
  const run = (seconds) =>
    autocannon({
      url: baseUrl,
      connections,
      duration: seconds,
      pipelining: 1,
      timeout: 20,
      requests: [
        {
          setupRequest: (request) => {
            const r = next();
            return { ...request, ...r, headers: r.headers ?? {} };
          },
        },
      ],
    });
  if (warmup) await run(WARMUP_SECONDS);
  await settle?.();
  const cpuBefore = workerdCpuSeconds();
  const result = await run(duration);
  const cpuAfter = workerdCpuSeconds();
  const settledMs = settle ? await timed(settle) : null;
  const cpuSettled = settle ? workerdCpuSeconds() : null;
  const perRequest = (cpu) => (cpuBefore === null || cpu === null || result.requests.total === 0 ? null : Math.round(((cpu - cpuBefore) / result.requests.total) * 1e6));
  return {
    requests: result.requests.total,
    rps: Math.round((result.requests.total / result.duration) * 10) / 10,
    p50_ms: result.latency.p50,
    p99_ms: result.latency.p99,
    // Anything but 2xx is an error here: a 400 or 429 means the endpoint did not do the work.
    errors: result.non2xx + result.errors + result.timeouts,
    // workerd's CPU per answered request: what the ratio is made of once the cores are saturated.
    cpu_us: perRequest(cpuAfter),
    // The same with the queue work the measured seconds left (consumed after them, in the same workerd).
    ...(settle ? { cpu_us_settled: perRequest(cpuSettled), settled_ms: settledMs, sustained_rps: sustainedRps(result, settledMs) } : {}),
    status_codes: Object.fromEntries(["1xx", "2xx", "3xx", "4xx", "5xx"].map((k) => [k, result[k]]).filter(([, n]) => n > 0)),
  };
}

async function timed(work) {
  const started = performance.now();
  await work();
  return Math.round(performance.now() - started);
}

const cell = (value) => (value === undefined || value === null ? "" : String(value));

export function formatTable(rows, floors) {
  const header = ["endpoint", "req/s", "p50", "p99", "err", "floor", "floor req/s", "floor p99", "ratio", "p99 / floor", "CPU µs", "floor CPU µs", "CPU ratio", "D1 RT (stmts)", "to primary"];
  const lines = rows.map((r) => {
    if (r.available === false) return [r.name, "not available", ...header.slice(2).map(() => "")];
    const floor = floors[r.floor_key];
    return [
      r.name,
      cell(r.rps),
      cell(r.p50_ms),
      cell(r.p99_ms),
      cell(r.errors),
      floor?.name ?? "",
      cell(floor?.rps),
      cell(floor?.p99_ms),
      r.ratio === undefined ? "" : r.ratio.toFixed(2),
      r.p99_ratio === undefined ? "" : r.p99_ratio.toFixed(2),
      cell(r.cpu_us),
      cell(floor?.cpu_us),
      r.cpu_ratio === undefined ? "" : r.cpu_ratio.toFixed(2),
      r.d1 ? `${r.d1.round_trips} (${r.d1.statements})` : "",
      r.d1 ? cell(r.d1.primary_round_trips) : "",
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const row = (cells) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(" | ")} |`;
  return [row(header), `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`, ...lines.map(row)].join("\n");
}
