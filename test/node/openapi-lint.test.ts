// The served OpenAPI document passes both linters with zero errors and zero warnings, under the
// rule sets in redocly.yaml and .spectral.yaml (each disabled rule says why there).
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";

const ROOT = join(import.meta.dirname, "..", "..");
const bin = (name: string) => join(ROOT, "node_modules", ".bin", name);
const run = promisify(execFile);

let dir: string;
let file: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "perks-openapi-"));
  file = join(dir, "openapi.json");
  const res = await fetch(`${inject("workerUrl")}/api/openapi.json`);
  expect(res.status).toBe(200);
  writeFileSync(file, await res.text());
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function lint(command: string, args: string[]) {
  try {
    const { stdout, stderr } = await run(command, args, { cwd: ROOT, env: { ...process.env, NO_COLOR: "1", REDOCLY_TELEMETRY: "off", REDOCLY_SUPPRESS_UPDATE_NOTICE: "true" } });
    return { code: 0, output: stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? 1, output: e.stdout ?? "", stderr: e.stderr ?? "" };
  }
}

describe("the OpenAPI document passes the linters", () => {
  it("@redocly/cli lint: no errors, no warnings", async () => {
    const { code, output } = await lint(bin("redocly"), ["lint", file, "--config", join(ROOT, "redocly.yaml"), "--format", "json"]);
    const json = JSON.parse(output.slice(output.indexOf("{")));
    const problems = (json.problems as { ruleId: string; severity: string; message: string; location?: { pointer?: string }[] }[]).map(
      (p) => `${p.severity} ${p.ruleId}: ${p.message} at ${p.location?.[0]?.pointer ?? "?"}`,
    );
    expect(problems).toEqual([]);
    expect(code).toBe(0);
  });

  it("@stoplight/spectral-cli lint (spectral:oas): no errors, no warnings", async () => {
    const { code, output } = await lint(bin("spectral"), ["lint", file, "--ruleset", join(ROOT, ".spectral.yaml"), "--format", "json", "--fail-severity", "warn", "--quiet"]);
    const start = output.indexOf("[");
    const problems = start >= 0 ? (JSON.parse(output.slice(start)) as { code: string; message: string; path: string[] }[]).map((p) => `${p.code}: ${p.message} at ${p.path.join(".")}`) : [output];
    expect(problems).toEqual([]);
    expect(code).toBe(0);
  });
});
