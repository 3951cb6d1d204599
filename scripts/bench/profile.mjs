// `npm run bench -- --profile=health_live,merchant_scan`: V8's CPU profiler on the API worker (and
// on the floor worker for its floor) through workerd's inspector, while autocannon drives one
// endpoint. The sampled time is the isolate's own JS (and its GC), counted per request: unlike the
// req/s of a busy shared machine it hardly depends on what else runs. Writes each `.cpuprofile`
// (open it in Chrome DevTools' Performance panel) under bench/tmp/profiles/ and prints where the
// time went, by source file and by function, mapped back through the bundle's source map.
import { mkdirSync, readFileSync, writeFileSync, existsSync } from "node:fs";
import { SourceMap } from "node:module";
import { join, relative, resolve } from "node:path";
import { ROOT } from "../lib/wrangler.mjs";

/** `--profile=a,b` (endpoint keys), or null. */
export function profileKeys(argv = process.argv) {
  const arg = argv.find((a) => a === "--profile" || a.startsWith("--profile="));
  if (!arg) return null;
  const keys = arg.includes("=") ? arg.slice(arg.indexOf("=") + 1).split(",").map((k) => k.trim()).filter(Boolean) : [];
  return new Set(keys.length ? keys : ["health_live", "merchant_scan"]);
}

export const PROFILE_DIR = join(ROOT, "bench", "tmp", "profiles");
/** Sampling interval in µs: fine enough for a request of a few hundred µs of JS. */
const SAMPLING_US = 50;

/** One CDP session on a worker's isolate (workerd names its targets `core:user:<worker name>`). */
async function connect(mf, workerName) {
  const inspector = await mf.getInspectorURL();
  const targets = await (await fetch(`http://${inspector.host}/json`)).json();
  const target = targets.find((t) => t.id === `core:user:${workerName}`);
  if (!target) throw new Error(`no inspector target for worker ${workerName} (have ${targets.map((t) => t.id).join(", ")})`);
  const ws = new WebSocket(`ws://${inspector.host}/${target.id}`);
  await new Promise((resolve, reject) => {
    ws.addEventListener("open", resolve, { once: true });
    ws.addEventListener("error", () => reject(new Error(`inspector connection to ${workerName} failed`)), { once: true });
  });
  let id = 0;
  const pending = new Map();
  ws.addEventListener("message", (event) => {
    const message = JSON.parse(typeof event.data === "string" ? event.data : Buffer.from(event.data).toString("utf8"));
    const waiter = message.id !== undefined && pending.get(message.id);
    if (!waiter) return;
    pending.delete(message.id);
    if (message.error) waiter.reject(new Error(`${waiter.method}: ${message.error.message}`));
    else waiter.resolve(message.result);
  });
  const send = (method, params = {}) =>
    new Promise((resolve, reject) => {
      const messageId = ++id;
      pending.set(messageId, { resolve, reject, method });
      ws.send(JSON.stringify({ id: messageId, method, params }));
    });
  return { send, close: () => ws.close() };
}

/** Runs `drive()` (which returns how many requests it made) under the CPU profiler of `workerName`. */
export async function profiled(mf, workerName, drive) {
  const session = await connect(mf, workerName);
  try {
    await session.send("Profiler.enable");
    await session.send("Profiler.setSamplingInterval", { interval: SAMPLING_US });
    await session.send("Profiler.start");
    const requests = await drive();
    const { profile } = await session.send("Profiler.stop");
    await session.send("Profiler.disable");
    return { profile, requests };
  } finally {
    session.close();
  }
}

/** Source maps of the bundles, by script file name (the profile's urls are module names). */
function sourceMapFor(outdir, url) {
  const file = url.replace(/^file:\/\//, "").split("/").pop();
  const mapPath = join(outdir, `${file}.map`);
  if (!file || !existsSync(mapPath)) return null;
  return new SourceMap(JSON.parse(readFileSync(mapPath, "utf8")));
}

/** Where a profile node's function comes from: `src/...`, `hono/...`, a package, or the bundle. */
function locate(maps, outdir, frame) {
  if (!frame.url) return { file: frame.functionName || "(native)", name: frame.functionName || "(anonymous)" };
  if (!maps.has(frame.url)) maps.set(frame.url, sourceMapFor(outdir, frame.url));
  const map = maps.get(frame.url);
  const entry = map?.findEntry(frame.lineNumber, frame.columnNumber);
  if (!entry?.originalSource) return { file: frame.url.split("/").pop(), name: frame.functionName || "(anonymous)" };
  const source = entry.originalSource.replace(/^file:\/\//, "");
  // Packages by their name; the project's files from its root (a BENCH_BUNDLE build may come from another worktree).
  const file = source.includes("node_modules/")
    ? source.slice(source.lastIndexOf("node_modules/") + "node_modules/".length)
    : /(?:^|\/)((?:src|scripts)\/.*)$/.exec(source)?.[1] ?? relative(ROOT, resolve(outdir, source));
  const line = (entry.originalLine ?? 0) + 1;
  return { file, name: `${entry.name || frame.functionName || "(anonymous)"} (${file}:${line})` };
}

/**
 * Self time per file and per function, in µs per request. `(program)` is workerd's own native
 * work while this isolate is entered (HTTP, bindings' C++), `(garbage collector)` the isolate's GC;
 * `(idle)` is left out of the total.
 */
export function summarise(profile, requests, outdir) {
  const maps = new Map();
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  // Each sample lasts until the next one: its time delta.
  const selfUs = new Map();
  for (let i = 0; i < profile.samples.length; i++) {
    const delta = profile.timeDeltas[i + 1] ?? 0;
    selfUs.set(profile.samples[i], (selfUs.get(profile.samples[i]) ?? 0) + delta);
  }
  const files = new Map();
  const functions = new Map();
  // Inclusive time of the project's own functions (src/, the floor's script): what each one costs
  // with everything it calls (jose, D1's client, native work), counted once per stack.
  const parents = new Map();
  for (const n of profile.nodes) for (const child of n.children ?? []) parents.set(child, n.id);
  const own = new Map();
  // The runtime's own frames (fetch, the D1 client, the rate-limit binding, Response, GC) charged
  // to the nearest caller in a source file: which of the project's or a package's files made them.
  const callers = new Map();
  let total = 0;
  for (const [id, us] of selfUs) {
    const node = byId.get(id);
    if (!node || node.callFrame.functionName === "(idle)") continue;
    total += us;
    const { file, name } = locate(maps, outdir, node.callFrame);
    files.set(file, (files.get(file) ?? 0) + us);
    functions.set(name, (functions.get(name) ?? 0) + us);
    let caller = file;
    for (let at = id; at !== undefined && !/\.(ts|js|mjs)$/.test(caller); at = parents.get(at)) caller = locate(maps, outdir, byId.get(at).callFrame).file;
    if (!/\.(ts|js|mjs)$/.test(caller) || caller === "index.js") caller = `${file} (no caller in a source file)`;
    callers.set(caller, (callers.get(caller) ?? 0) + us);
    const seen = new Set();
    for (let at = id; at !== undefined; at = parents.get(at)) {
      const where = locate(maps, outdir, byId.get(at).callFrame);
      if (!/^(src|scripts)\//.test(where.file) || seen.has(where.name)) continue;
      seen.add(where.name);
      own.set(where.name, (own.get(where.name) ?? 0) + us);
    }
  }
  const perRequest = (us) => Math.round((us / requests) * 10) / 10;
  const rank = (map, n) =>
    [...map.entries()].sort((a, b) => b[1] - a[1]).slice(0, n).map(([name, us]) => ({ name, us_per_request: perRequest(us), share: Math.round((us / total) * 1000) / 10 }));
  return { requests, us_per_request: perRequest(total), files: rank(files, 15), functions: rank(functions, 25), inclusive: rank(own, 25), by_caller: rank(callers, 20) };
}

export function writeProfile(name, profile) {
  mkdirSync(PROFILE_DIR, { recursive: true });
  const path = join(PROFILE_DIR, `${name}.cpuprofile`);
  writeFileSync(path, JSON.stringify(profile));
  return path;
}

export function formatSummary(title, summary) {
  const lines = [`${title}: ${summary.us_per_request} µs of the isolate's CPU per request (${summary.requests} requests)`];
  const table = (heading, rows) => {
    lines.push(`  ${heading}`);
    for (const r of rows) lines.push(`    ${String(r.us_per_request).padStart(8)} µs  ${String(r.share).padStart(5)} %  ${r.name}`);
  };
  table("self time by file:", summary.files);
  table("self time by function:", summary.functions);
  table("total time of the project's own functions (with what they call):", summary.inclusive);
  table("self time, the runtime's own frames charged to their nearest caller in a source file:", summary.by_caller);
  return lines.join("\n");
}
