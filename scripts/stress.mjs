// `npm run stress [-- runs]`: the invariant stress suite with random seeds (default 3 runs).
// `npm test` always runs one fixed seed; this explores new plans. A failing run prints its seed:
// replay it with `STRESS_SEED=<seed> npm test -- test/stress`.
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { ROOT, projectEnv } from "./lib/wrangler.mjs";

const runs = Number(process.argv[2] ?? 3);
if (!Number.isInteger(runs) || runs < 1) {
  console.error("usage: npm run stress [-- <number of runs>]");
  process.exit(2);
}
for (let run = 1; run <= runs; run++) {
  const seed = Math.floor(Math.random() * 2 ** 31);
  console.log(`stress run ${run}/${runs}: seed ${seed}`);
  const result = spawnSync(process.execPath, [join(ROOT, "scripts", "test.mjs"), "test/stress/invariants.test.ts"], {
    cwd: ROOT,
    env: { ...projectEnv(), STRESS_SEED: String(seed) },
    stdio: "inherit",
  });
  if (result.status !== 0) {
    console.error(`stress: seed ${seed} failed; replay with STRESS_SEED=${seed} npm test -- test/stress`);
    process.exit(result.status ?? 1);
  }
}
console.log(`stress: ${runs} random seeds passed`);
