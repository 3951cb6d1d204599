// Puts the vendored browser files into public/ (gitignored), from the npm packages at the versions
// package.json pins, so the docs page (and any other page) loads nothing from another origin; and
// the pages of web/ (the till), which are this project's own files.
// Run by `npm run dev`, `npm test`, wrangler's [build] (dev and deploy) and the browser tests.
//   node scripts/assets/build.mjs
import { copyFileSync, cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = fileURLToPath(new URL("../..", import.meta.url));
export const PUBLIC_DIR = join(ROOT, "public");
/** Pages written here (HTML, CSS, JS, `_headers`), copied as they are. */
export const PAGES_DIR = join(ROOT, "web");
const require = createRequire(join(ROOT, "package.json"));

/** Each vendored file: the package, the file inside it, where it is served from (under public/). */
export const VENDORED = [
  { pkg: "@scalar/api-reference", file: "dist/browser/standalone.js", to: "vendor/scalar/api-reference.js" },
  // The till's QR reader where the browser has no BarcodeDetector: the same API over ZXing in
  // WebAssembly. The .wasm is the exact version barcode-detector pins (found from its folder).
  { pkg: "barcode-detector", file: "dist/iife/ponyfill.js", to: "vendor/barcode-detector/ponyfill.js" },
  { pkg: "zxing-wasm", from: "barcode-detector", file: "dist/reader/zxing_reader.wasm", to: "vendor/zxing-wasm/zxing_reader.wasm" },
];

/**
 * The installed package's folder (found like Node finds it; some packages do not export
 * package.json), or the copy that package `from` resolves when given.
 */
function packageDir(pkg, from) {
  const resolver = from ? createRequire(join(packageDir(from), "package.json")) : require;
  for (const base of resolver.resolve.paths(pkg) ?? []) {
    if (existsSync(join(base, pkg, "package.json"))) return join(base, pkg);
  }
  throw new Error(`assets: ${pkg} is not installed; run \`npm install\``);
}

export function buildAssets({ log = () => {} } = {}) {
  const manifest = {};
  if (existsSync(PAGES_DIR)) {
    cpSync(PAGES_DIR, PUBLIC_DIR, { recursive: true });
    log("assets: web/ -> public/");
  }
  for (const { pkg, from, file, to } of VENDORED) {
    const dir = packageDir(pkg, from);
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
