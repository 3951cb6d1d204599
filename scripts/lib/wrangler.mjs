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
