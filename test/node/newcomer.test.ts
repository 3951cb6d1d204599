// What a newcomer reads and runs first must be true: the example .dev.vars names what README's
// configuration table names, the Node versions README and package.json state are the ones that
// work, one copy of wrangler/miniflare/workerd is installed, and README's links stay inside the
// repository.
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = join(import.meta.dirname, "..", "..");
const read = (file: string) => readFileSync(join(ROOT, file), "utf8");
const readme = read("README.md");
const pkg = JSON.parse(read("package.json"));

/** README's configuration table: every backticked NAME of the first column, with the row's kind. */
export function configurationTable(text: string) {
  const section = text.split(/^## /m).find((part) => part.startsWith("Configuration")) ?? "";
  const rows = section.split("\n").filter((line) => /^\| `/.test(line));
  return rows.flatMap((line) => {
    const [, names = "", kind = ""] = line.split("|").map((cell) => cell.trim());
    return [...names.matchAll(/`([A-Z][A-Z0-9_]+)`/g)].map((m) => ({ name: m[1]!, kind }));
  });
}

export function exampleKeys(text: string) {
  return text
    .split("\n")
    .map((line) => /^([A-Z][A-Z0-9_]*)=/.exec(line)?.[1])
    .filter((key): key is string => Boolean(key));
}

const version = (text: string): number[] => text.replace(/^[^0-9]*/, "").split(".").map(Number);
const atLeast = (v: number[], min: number[]) => (v[0]! - min[0]! || (v[1] ?? 0) - (min[1] ?? 0) || (v[2] ?? 0) - (min[2] ?? 0)) >= 0;

/**
 * Relative links of a markdown file that leave the repository or point at nothing, and paths of
 * someone's machine (a home or work folder). A scratch file under /tmp that a test writes is fine.
 */
export function brokenLinks(file: string, text: string, exists: (path: string) => boolean) {
  const found: string[] = [];
  for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
    if (!target || /^([a-z]+:|#)/i.test(target)) continue;
    const path = resolve(ROOT, dirname(file), target.split("#")[0]!);
    if (relative(ROOT, path).startsWith("..") || target.startsWith("/")) found.push(`${file}: ${target} leaves the repository`);
    else if (!exists(path)) found.push(`${file}: ${target} does not exist`);
  }
  for (const [path] of text.matchAll(/(?<![\w.:/-])(?:\/(?:work|home|Users|root)\/|~\/|[A-Z]:\\)[^\s`)]*/g)) found.push(`${file}: ${path} is outside the repository`);
  return found;
}

describe(".dev.vars.example", () => {
  const table = configurationTable(readme);
  const example = exampleKeys(read(".dev.vars.example"));

  it("the parsers find what they look for", () => {
    expect(configurationTable("## Configuration\n| name | kind |\n|---|---|\n| `A_B`, `CC` | secret | x |\n| `DD` | var | y |\n## Next\n| `EE` | secret |")).toEqual([
      { name: "A_B", kind: "secret" },
      { name: "CC", kind: "secret" },
      { name: "DD", kind: "var" },
    ]);
    expect(exampleKeys('# X="1"\nA="1"\nB_C=""\n')).toEqual(["A", "B_C"]);
  });

  it("names every secret of README's configuration table, and nothing the table does not name", () => {
    expect(table.length).toBeGreaterThan(15);
    const secrets = table.filter((row) => row.kind === "secret").map((row) => row.name);
    expect(secrets).toContain("JWT_SECRET");
    expect(secrets.filter((name) => !example.includes(name))).toEqual([]);
    const named = new Set(table.map((row) => row.name));
    expect(example.filter((key) => !named.has(key))).toEqual([]);
  });

  it("is the file README tells a plain `wrangler dev` to copy", () => {
    expect(readme).toContain("copy `.dev.vars.example` to `.dev.vars`");
    expect(read(".gitignore")).toMatch(/^!\.dev\.vars\.example$/m);
  });
});

describe("Node versions", () => {
  const wranglerEngines = JSON.parse(read("node_modules/wrangler/package.json")).engines.node as string;
  const projectNode = execFileSync(join(ROOT, "node_modules", ".bin", "node"), ["--version"], { encoding: "utf8" }).trim();

  it("the project-local Node runs wrangler (22.12+ and wrangler's own engines)", () => {
    expect(atLeast(version(projectNode), [22, 12, 0]), projectNode).toBe(true);
    expect(atLeast(version(projectNode), version(wranglerEngines)), `${projectNode} vs ${wranglerEngines}`).toBe(true);
    expect(atLeast(version(pkg.devDependencies.node), [22, 12, 0]), pkg.devDependencies.node).toBe(true);
  });

  it("package.json's engines and README state the same system Node, and README says why it is enough", () => {
    const engines = /^>=\s*(\d+\.\d+)$/.exec(pkg.engines.node)?.[1];
    expect(engines, pkg.engines.node).toBeDefined();
    expect(readme).toContain(`system Node ${engines} or later is fine`);
    expect(readme).toMatch(/project-local Node 22/);
  });
});

it("one copy of wrangler, miniflare and workerd is installed", () => {
  const tree = JSON.parse(execFileSync("npm", ["ls", "wrangler", "miniflare", "workerd", "--all", "--json"], { cwd: ROOT, encoding: "utf8" }));
  const versions = new Map<string, Set<string>>();
  const walk = (deps: Record<string, any> = {}) => {
    for (const [name, node] of Object.entries(deps)) {
      if (["wrangler", "miniflare", "workerd"].includes(name) && node.version) (versions.get(name) ?? versions.set(name, new Set()).get(name)!).add(node.version);
      walk(node.dependencies);
    }
  };
  walk(tree.dependencies);
  expect([...versions.keys()].sort()).toEqual(["miniflare", "workerd", "wrangler"]);
  for (const [name, found] of versions) expect([...found], name).toHaveLength(1);
});

describe("markdown links stay inside the repository", () => {
  it("finds a link out, a missing file and an absolute path", () => {
    const exists = (path: string) => path.endsWith("README.md");
    expect(brokenLinks("docs/x.md", "[a](../README.md) [b](../../elsewhere/y.md) [c](missing.md) [d](https://x.io) [e](#top) see /work/main/x", exists)).toEqual([
      "docs/x.md: ../../elsewhere/y.md leaves the repository",
      "docs/x.md: missing.md does not exist",
      "docs/x.md: /work/main/x is outside the repository",
    ]);
  });

  it("README, CONTRIBUTING and every other tracked markdown file", () => {
    const files = execFileSync("git", ["ls-files", "-z", "--", "*.md"], { cwd: ROOT, encoding: "utf8" }).split("\0").filter(Boolean);
    expect(files).toContain("README.md");
    expect(files.flatMap((file) => brokenLinks(file, read(file), existsSync))).toEqual([]);
  });
});
