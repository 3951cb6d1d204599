// `npm test` runs this after typecheck: the whole vitest suite inside workerd, with the
// project's Node 22 (wrangler/miniflare refuse Node 20). Extra args go to vitest:
//   npm test -- test/infra        npm test -- -t "pipeline"
import { spawn } from "node:child_process";
import { join } from "node:path";
import { ROOT, projectEnv } from "./lib/wrangler.mjs";

const vitest = join(ROOT, "node_modules", ".bin", "vitest");
const child = spawn(vitest, ["run", ...process.argv.slice(2)], { cwd: ROOT, env: projectEnv(), stdio: "inherit" });
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => child.exitCode === null && child.kill(signal));
}
child.once("error", (err) => {
  console.error(`test: could not start vitest: ${err.message}`);
  process.exit(1);
});
child.once("exit", (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
