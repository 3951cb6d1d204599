// The repository stands on its own: a person who clones it has no sibling folders, design notes or
// tracker. README, code, comments, scripts and tests must not point at them.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = join(import.meta.dirname, "..", "..");
const tracked = execFileSync("git", ["ls-files", "-z"], { cwd: ROOT, encoding: "utf8" })
  .split("\0")
  .filter((file) => file && !file.endsWith("package-lock.json") && /\.(md|ts|mts|mjs|js|json|toml|sql|sh)$|^\.ci\//.test(file));

/** What points outside the repository; this very file names them to find them, so it is skipped. */
const OUTSIDE = [
  { name: "a path to a sibling folder", pattern: /\.\.\/shared\b|\/work\/shared/ },
  { name: "design notes kept elsewhere", pattern: /\bDESIGN(\.md)?\b/ },
  { name: "a tracker issue number", pattern: /\b[Ii]ssues? ?#?\d+\b|\bissue-\d+\b/ },
  { name: "a spec file path", pattern: /\bspec\/[\w-]+\.md\b/ },
];

export function outsideReferences(file: string, text: string) {
  const found: string[] = [];
  text.split("\n").forEach((line, i) => {
    for (const { name, pattern } of OUTSIDE) if (pattern.test(line)) found.push(`${file}:${i + 1}: ${name}: ${line.trim().slice(0, 120)}`);
  });
  return found;
}

describe("the repository stands on its own", () => {
  it("finds what it looks for", () => {
    // Assembled from parts, so this sample is not itself a reference a reader would trip on.
    const sample = ["see ..", "/shared/spec/offers.md and ", "DES", "IGN, as is", "sue 7 did"].join("");
    expect(outsideReferences("x.md", sample)).toHaveLength(4);
    expect(outsideReferences("x.md", "design the issue of a voucher; 3 issues remain")).toEqual([]);
  });

  it("has no reference outside the repository in README, code, comments, scripts or tests", () => {
    expect(tracked.length).toBeGreaterThan(50);
    const self = "test/node/self-contained.test.ts";
    const found = tracked.filter((file) => file !== self).flatMap((file) => outsideReferences(file, readFileSync(join(ROOT, file), "utf8")));
    expect(found).toEqual([]);
  });
});
