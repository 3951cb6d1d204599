// `npm test` runs this after typecheck, with the project's Node 22 (wrangler/miniflare refuse
// Node 20): first the workerd suite (vitest.config.ts: everything under test/ but the Node-side
// folders), then the Node-side suites (vitest.node.config.ts: test/node and test/browser, against a
// local worker in workerd and Chromium). Extra args go to both vitest runs:
//   npm test -- test/infra        npm test -- -t "pipeline"        npm test -- test/browser
import { spawn } from "node:child_process";
import { join } from "node:path";
import { buildAssets } from "./assets/build.mjs";
import { ROOT, projectEnv } from "./lib/wrangler.mjs";

const vitest = join(ROOT, "node_modules", ".bin", "vitest");
const args = process.argv.slice(2);
const nodeSide = (arg) => /^(\.\/)?test\/(node|browser)(\/|$)/.test(arg);
const paths = args.filter((arg) => !arg.startsWith("-") && arg.startsWith("test"));
// With file filters, run only the suite(s) they name; an empty suite is then not a failure.
const runs = [
  { name: "workerd", config: "vitest.config.ts", wanted: paths.length === 0 || paths.some((p) => !nodeSide(p)) },
  { name: "node", config: "vitest.node.config.ts", wanted: paths.length === 0 || paths.some(nodeSide) },
].filter((run) => run.wanted);

let current;
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => current?.exitCode === null && current.kill(signal));
}

function run(config) {
  return new Promise((resolve) => {
    const extra = paths.length > 0 ? ["--passWithNoTests"] : [];
    current = spawn(vitest, ["run", "--config", config, ...extra, ...args], { cwd: ROOT, env: projectEnv(), stdio: "inherit" });
    current.once("error", (err) => {
      console.error(`test: could not start vitest: ${err.message}`);
      resolve(1);
    });
    current.once("exit", (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

buildAssets();
for (const { name, config } of runs) {
  const code = await run(config);
  if (code !== 0) {
    console.error(`test: the ${name} suite failed (exit ${code})`);
    process.exit(code);
  }
}
