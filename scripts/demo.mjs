// `npm run demo [baseUrl]`: walks every flow of the three spec documents over HTTP against a
// running `npm run dev` (default http://localhost:8787), one line per step, and exits non-zero
// if any step failed. Safe to repeat: each run registers its own user and uses fresh references.
import { createClient, createSteps } from "./demo/client.mjs";
import { advertisements, auth, customersOrders, giftCards, health, healthAgain, notifications, offers, vouchers } from "./demo/flows.mjs";
import { liveStatus } from "./demo/live-status.mjs";

const baseUrl = process.argv[2] ?? process.env.DEMO_BASE_URL ?? "http://localhost:8787";
const { step, section, tally } = createSteps();
const ctx = { baseUrl, call: createClient(baseUrl), step, section, s: { run: `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 5)}` } };

console.log(`perks-edge demo against ${baseUrl} (run ${ctx.s.run})`);
section("Health");
const up = await step("the API answers (GET /api/v1/health/live)", async () => {
  await ctx.call("GET", "/api/v1/health/live");
  return "alive";
});
if (up) {
  await health(ctx);
  for (const flow of [auth, offers, liveStatus, vouchers, giftCards, advertisements, customersOrders, notifications, healthAgain]) await flow(ctx);
}

const total = tally.passed + tally.failed + tally.skipped;
console.log(`\n${tally.passed}/${total} steps passed${tally.failed ? `, ${tally.failed} failed` : ""}${tally.skipped ? `, ${tally.skipped} skipped` : ""}`);
if (!up) console.log("Start the API first: `npm run dev` in another terminal, then `npm run demo`.");
process.exitCode = tally.failed > 0 || tally.skipped > 0 || !up ? 1 : 0;
