// The test tree mirrors src/: every feature folder has its own test folder with tests in it, and
// the suite holds no test that cannot fail by construction (skipped, todo, focused).
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = join(import.meta.dirname, "..", "..");
const folders = (dir: string) =>
  readdirSync(join(ROOT, dir), { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort();

/** Features of src/features without a test/features/<x>/ holding at least one test file. */
export function untestedFeatures(features: string[], testFiles: (feature: string) => string[]): string[] {
  return features.filter((feature) => !testFiles(feature).some((file) => file.endsWith(".test.ts")));
}

/** Tests marked `.skip`, `.todo`, `.only`, `.skipIf` or `.runIf`: tests that run nothing, or hide the others. */
export function disabledTests(file: string, text: string): string[] {
  const found: string[] = [];
  text.split("\n").forEach((line, i) => {
    if (/\b(it|test|describe)\s*\.\s*(skip|todo|only|skipIf|runIf)\b/.test(line)) found.push(`${file}:${i + 1}: ${line.trim()}`);
  });
  return found;
}

describe("the test tree", () => {
  it("has a test/features/<x>/ with tests for every src/features/<x>/", () => {
    const features = folders("src/features");
    expect(features.length).toBeGreaterThan(10);
    const testFiles = (feature: string) => {
      try {
        return readdirSync(join(ROOT, "test", "features", feature));
      } catch {
        return [];
      }
    };
    expect(untestedFeatures(features, testFiles)).toEqual([]);
    // The check itself: a feature with no folder, or a folder with only helpers, is reported.
    expect(untestedFeatures(["a", "b", "c"], (f) => ({ a: ["a.test.ts"], b: ["helpers.ts"] })[f] ?? [])).toEqual(["b", "c"]);
  });

  it("skips, postpones and focuses no test", () => {
    const files = execFileSync("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard", "test"], { cwd: ROOT, encoding: "utf8" })
      .split("\0")
      .filter((file) => file.endsWith(".ts") && file !== "test/node/layout.test.ts");
    expect(files.length).toBeGreaterThan(50);
    expect(files.flatMap((file) => disabledTests(file, readFileSync(join(ROOT, file), "utf8")))).toEqual([]);
    // The sample of disabled tests is assembled from parts, so this file holds no such line itself.
    const skipped = `it.${"skip"}('a', () => {})`;
    const focused = `describe.${"only"}('b', () => {})`;
    expect(disabledTests("x.test.ts", [skipped, focused, "it.each([1])('c', () => {})"].join("\n"))).toEqual([
      `x.test.ts:1: ${skipped}`,
      `x.test.ts:2: ${focused}`,
    ]);
  });
});
