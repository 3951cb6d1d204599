// Puts the vendored browser files into public/ (gitignored), from the npm packages at the versions
// package.json pins, so the docs page (and any other page) loads nothing from another origin.
// Run by `npm run dev`, `npm test`, wrangler's [build] (dev and deploy) and the browser tests.
//   node scripts/assets/build.mjs
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = fileURLToPath(new URL("../..", import.meta.url));
export const PUBLIC_DIR = join(ROOT, "public");
const require = createRequire(join(ROOT, "package.json"));

/** Each vendored file: the package, the file inside it, where it is served from (under public/). */
export const VENDORED = [
  { pkg: "@scalar/api-reference", file: "dist/browser/standalone.js", to: "vendor/scalar/api-reference.js" },
];

/** The installed package's folder (found like Node finds it; some packages do not export package.json). */
function packageDir(pkg) {
  for (const base of require.resolve.paths(pkg) ?? []) {
    if (existsSync(join(base, pkg, "package.json"))) return join(base, pkg);
  }
  throw new Error(`assets: ${pkg} is not installed; run \`npm install\``);
}

export function buildAssets({ log = () => {} } = {}) {
  const manifest = {};
  for (const { pkg, file, to } of VENDORED) {
    const dir = packageDir(pkg);
    const { version } = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
    const target = join(PUBLIC_DIR, to);
    mkdirSync(dirname(target), { recursive: true });
    copyFileSync(join(dir, file), target);
    manifest[`/${to}`] = `${pkg}@${version}`;
    log(`assets: ${pkg}@${version} ${file} -> public/${to}`);
  }
  // What is served, from which package version (handy when a page looks out of date).
  writeFileSync(join(PUBLIC_DIR, "vendor", "manifest.json"), `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  buildAssets({ log: (line) => console.log(line) });
}
