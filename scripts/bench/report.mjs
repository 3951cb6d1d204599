// Prints bench/results.json as the markdown of bench/README.md's recorded-run section:
// `node scripts/bench/report.mjs` after `npm run bench`.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "../lib/wrangler.mjs";

const r = JSON.parse(readFileSync(join(ROOT, "bench", "results.json"), "utf8"));
const m = r.machine;
const out = [];
out.push(
  `${r.generated_at.slice(0, 16).replace("T", " ")} UTC, ${m.cores} cores (${m.cpu_model}), ${m.memory_gb} GB, Node ${m.node}, workerd ${m.workerd}, ` +
    `load average ${m.load_average_at_start.join(" ")} at the start and ${m.load_average_at_end.join(" ")} at the end; ${r.method.load_generator}. Whole run ${r.duration_s} s.`,
  "",
  "| endpoint | req/s | p50 ms | p99 ms | errors | floor | floor req/s | floor p99 ms | ratio | p99 / floor p99 | CPU µs | floor CPU µs | CPU ratio | D1 round trips (statements) | to the primary |",
  "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
);
for (const e of r.endpoints) {
  if (!e.available) {
    out.push(`| ${e.name} | not available | | | | | | | | | | | | | |`);
    continue;
  }
  const f = e.floor ?? {};
  out.push(
    `| ${e.name} | ${e.rps} | ${e.p50_ms} | ${e.p99_ms} | ${e.errors} | ${f.name ?? ""} | ${f.rps ?? ""} | ${f.p99_ms ?? ""} | ${e.ratio?.toFixed(2) ?? ""} | ${e.p99_ratio?.toFixed(2) ?? ""} | ${e.cpu_us ?? ""} | ${f.cpu_us ?? ""} | ${e.cpu_ratio?.toFixed(2) ?? ""} | ${e.d1 ? `${e.d1.round_trips} (${e.d1.statements})` : ""} | ${e.d1?.primary_round_trips ?? ""} |`,
  );
}
// An endpoint with a reference (its floor plus required work the floor leaves out) gets a line under the table.
const referenced = r.endpoints.filter((e) => e.reference);
if (referenced.length) out.push("");
for (const e of referenced)
  out.push(
    `Against "${e.reference.name}" (${e.reference.rps} req/s, p99 ${e.reference.p99_ms} ms, ${e.reference.cpu_us} µs CPU), ${e.name}: ratio ${e.reference_ratio?.toFixed(2) ?? ""}, ` +
      `p99 / reference p99 ${e.reference_p99_ratio?.toFixed(2) ?? ""}, CPU ratio ${e.reference_cpu_ratio?.toFixed(2) ?? ""} (to its floor: ${e.ratio?.toFixed(2) ?? ""}, ${e.p99_ratio?.toFixed(2) ?? ""}, ${e.cpu_ratio?.toFixed(2) ?? ""}).`,
  );
// A write whose work a queue consumer finishes, once that work is done too.
const completed = r.endpoints.filter((e) => e.to_completion);
if (completed.length) out.push("");
for (const e of completed) {
  const t = e.to_completion;
  out.push(
    `To completion, ${e.name}: ${t.cpu_us} µs CPU per request against the floor's ${t.floor_cpu_us} (CPU ratio ${t.cpu_ratio?.toFixed(2) ?? ""}), ` +
      `consumers caught up ${t.caught_up_ms} ms after the measured seconds (the floor's ${t.floor_caught_up_ms} ms), sustained ${t.sustained_rps} req/s against ${t.floor_sustained_rps} (ratio ${t.sustained_ratio.toFixed(2)}).`,
  );
}
const h = r.hot_wallet;
out.push(
  "",
  `Hot wallet: ${h.attempts} concurrent purchases on one wallet, ${h.successes} succeeded, ${h.refused} refused for balance (expected ${h.expected_successes}), ` +
    `${h.rps} req/s; the floor's single object ${h.floor.rps} req/s (${h.floor.successes} succeeded): ratio ${h.ratio}. ` +
    `Final balance ${h.final_balance} = ${h.start_balance} − ${h.successes} × price, equal to the ledger sum: ${h.balance_ok ? "ok" : "MISMATCH"}.` +
    (h.reference
      ? ` Against the floor's object writing the purchase's rows too (${h.reference.rps} req/s, ${h.reference.cpu_us} µs a purchase): ratio ${h.reference_ratio}, CPU ratio ${h.reference_cpu_ratio}.`
      : ""),
  "",
  `Bundle: ${(r.bundle.bytes / 1024).toFixed(1)} KiB, gzip ${(r.bundle.gzip_bytes / 1024).toFixed(1)} KiB` +
    (r.bundle.wrangler_reported ? ` (wrangler reports ${r.bundle.wrangler_reported.total} / gzip ${r.bundle.wrangler_reported.gzip}).` : "."),
  "",
  `Conservation over ${r.conservation.wallets} wallets: ${r.conservation.mismatches.length === 0 ? "ok" : "MISMATCH"}.`,
);
if (r.probes) {
  out.push("", `Probes (scan floor ${r.probes.baseline.rps} req/s, plus one cost each):`, "", "| probe | req/s | µs per request over the floor | µs of workerd CPU per request over the floor |", "|---|---|---|---|");
  for (const [k, p] of Object.entries(r.probes)) if (k !== "baseline") out.push(`| ${k} | ${p.rps} | ${p.cost_us_per_request} | ${p.cpu_cost_us_per_request ?? ""} |`);
}
console.log(out.join("\n"));
