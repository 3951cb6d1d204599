// Chromium for the browser tests: Debian's /usr/bin/chromium driven by playwright-core (no
// downloaded browser). A context lets only the local worker's origin through and records every
// request to anywhere else, so a test can assert a page needs no network beyond this API.
import { existsSync } from "node:fs";
import AxeBuilder from "@axe-core/playwright";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { afterAll, inject } from "vitest";

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

const browsers = new Map<string, Promise<Browser>>();

/**
 * The browser of this test file for these extra Chromium flags (e.g. a fake camera); a missing
 * chromium fails the test (it never skips).
 */
export function launchBrowser(args: string[] = []): Promise<Browser> {
  const key = args.join(" ");
  let browser = browsers.get(key);
  if (!browser) {
    if (!existsSync(CHROMIUM_PATH)) {
      throw new Error(`chromium is required for the browser tests: apt-get install chromium (or set CHROMIUM_PATH); looked at ${CHROMIUM_PATH}`);
    }
    browser = chromium.launch({ executablePath: CHROMIUM_PATH, args: ["--no-sandbox", ...args] });
    browsers.set(key, browser);
  }
  return browser;
}

afterAll(async () => {
  const all = [...browsers.values()];
  browsers.clear();
  await Promise.all(all.map(async (browser) => (await browser).close()));
});

/** The local worker's base URL (started once by the global setup). */
export const workerUrl = () => inject("workerUrl");

export interface IsolatedContext {
  context: BrowserContext;
  /** Every request the page tried to make to another origin (all of them were aborted). */
  foreignRequests: string[];
}

/** A browser context that may reach the local worker (or `worker`) only; everything else is aborted and recorded. */
export async function isolatedContext(
  { launchArgs = [], worker = workerUrl(), ...options }: NonNullable<Parameters<Browser["newContext"]>[0]> & { launchArgs?: string[]; worker?: string } = {},
): Promise<IsolatedContext> {
  const allowed = new URL(worker).origin;
  const context = await (await launchBrowser(launchArgs)).newContext({ serviceWorkers: "block", ...options });
  const foreignRequests: string[] = [];
  await context.route("**/*", (route) => {
    const url = route.request().url();
    if (url.startsWith("data:") || url.startsWith("blob:") || new URL(url).origin === allowed) return route.continue();
    foreignRequests.push(url);
    return route.abort("blockedbyclient");
  });
  // WebSockets are not routed by `route`; refuse and record those to another origin too.
  await context.routeWebSocket(/.*/, (ws) => {
    if (new URL(ws.url()).host === new URL(allowed).host) return ws.connectToServer();
    foreignRequests.push(ws.url());
    return ws.close();
  });
  return { context, foreignRequests };
}

/** WCAG 2 A/AA rules (labels, names, contrast, ...) that axe finds broken on the page as it is now. */
export async function accessibilityViolations(page: Page) {
  const { violations } = await new AxeBuilder({ page }).withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]).analyze();
  return violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
}
