// autocannon at fixed concurrency, and the table it all ends in.
import autocannon from "autocannon";

export const CONNECTIONS = 32;
export const DURATION_SECONDS = 6;
const WARMUP_SECONDS = 1;

/**
 * One endpoint: `next()` gives each request its {method, path, headers, body}, so requests can
 * rotate tokens, references and transaction ids. A short warm-up first (JIT, caches, DO start).
 */
export async function measure(baseUrl, next, { connections = CONNECTIONS, duration = DURATION_SECONDS } = {}) {
  const run = (seconds) =>
    autocannon({
      url: baseUrl,
      connections,
      duration: seconds,
      pipelining: 1,
      timeout: 20,
      requests: [{ setupRequest: (request) => ({ ...request, ...next() }) }],
    });
  await run(WARMUP_SECONDS);
  const result = await run(duration);
  return {
    requests: result.requests.total,
    rps: Math.round(result.requests.average * 10) / 10,
    p50_ms: result.latency.p50,
    p99_ms: result.latency.p99,
    // Anything but 2xx is an error here: a 400 or 429 means the endpoint did not do the work.
    errors: result.non2xx + result.errors + result.timeouts,
    status_codes: Object.fromEntries(
      ["1xx", "2xx", "3xx", "4xx", "5xx"].map((k) => [k, result[k]]).filter(([, n]) => n > 0),
    ),
  };
}

export function formatTable(rows) {
  const header = ["endpoint", "req/s", "p50 ms", "p99 ms", "errors", "vs health", "D1 round trips (statements)"];
  const lines = rows.map((r) =>
    r.available === false
      ? [r.name, "not available", "", "", "", "", ""]
      : [
          r.name,
          String(r.rps),
          String(r.p50_ms),
          String(r.p99_ms),
          String(r.errors),
          r.ratio === undefined ? "" : r.ratio.toFixed(2),
          r.d1 ? `${r.d1.round_trips} (${r.d1.statements})` : "",
        ],
  );
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const row = (cells) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(" | ")} |`;
  return [row(header), `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`, ...lines.map(row)].join("\n");
}
