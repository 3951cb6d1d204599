// Runs the project's own wrangler with the project's Node 22 first on PATH, so scripts work
// even when started with the system Node 20 (`node scripts/x.mjs` outside npm).
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { delimiter, join } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const BIN = join(ROOT, "node_modules", ".bin");

export function projectEnv(extra = {}) {
  return { ...process.env, PATH: `${BIN}${delimiter}${process.env.PATH ?? ""}`, ...extra };
}

export function wranglerBinary() {
  const local = join(BIN, "wrangler");
  if (!existsSync(local)) throw new Error("wrangler is not installed: run `npm install` first");
  return local;
}

/** The Node binary that can run wrangler (the project's Node 22 if installed). */
export function projectNode() {
  const local = join(BIN, "node");
  return existsSync(local) ? local : process.execPath;
}

/**
 * Spawns wrangler. With `capture: true` resolves { code, stdout, stderr }; otherwise inherits
 * stdio and resolves { code }. Never rejects for a non-zero exit; callers decide.
 */
export function runWrangler(args, { capture = false, env = {}, stdio } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(wranglerBinary(), args, {
      cwd: ROOT,
      env: projectEnv(env),
      stdio: stdio ?? (capture ? ["ignore", "pipe", "pipe"] : "inherit"),
    });
    let stdout = "";
    let stderr = "";
    child.stdout?.on("data", (d) => (stdout += d));
    child.stderr?.on("data", (d) => (stderr += d));
    child.once("error", reject);
    child.once("exit", (code, signal) => resolve({ code: code ?? (signal ? 1 : 0), signal, stdout, stderr }));
  });
}

/** True when this Node can run wrangler and import the worker's TypeScript modules (src/lib/*.ts). */
export function nodeIsEnough() {
  const [major, minor] = process.versions.node.split(".").map(Number);
  return Boolean(process.features.typescript) && (major > 22 || (major === 22 && minor >= 12));
}

/**
 * For a script's entry point: under an older Node (a system Node 20), runs the same script again
 * under the project's Node 22 and exits with its code; otherwise returns at once.
 */
export async function ensureProjectNode() {
  if (nodeIsEnough()) return;
  const node = projectNode();
  if (node === process.execPath) {
    console.error(`Node ${process.versions.node} cannot run this script (it needs 22.12+): run \`npm install\` for the project's Node, or use Node 22.12+`);
    process.exit(1);
  }
  const child = spawn(node, [...process.execArgv, ...process.argv.slice(1)], { cwd: process.cwd(), env: projectEnv(), stdio: "inherit" });
  const code = await new Promise((resolve) => {
    child.once("error", (err) => {
      console.error(`could not start ${node}: ${err.message}`);
      resolve(1);
    });
    child.once("exit", (c, signal) => resolve(c ?? (signal ? 1 : 0)));
  });
  process.exit(code);
}
