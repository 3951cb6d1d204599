// The demo's HTTP client and step printer: one line per step, the response body on failure.
import { createPerksClient } from "../../client/index.ts";

export class DemoError extends Error {
  constructor(message, response) {
    super(message);
    this.response = response;
  }
}

/**
 * Every call goes through the API's typed client (client/index.ts: openapi-fetch over the types
 * generated from the OpenAPI document), the one the README shows. `onResponse(method, path,
 * result)` sees every answer (the contract test validates them against the document).
 */
export function createClient(baseUrl, { onResponse } = {}) {
  const base = baseUrl.replace(/\/$/, "");
  const perks = createPerksClient(base);
  /** Calls the API; throws DemoError unless the status is one of `expect` (default: any 2xx). */
  return async function call(method, path, { token, body, headers = {}, expect } = {}) {
    const init = { headers: { ...headers }, parseAs: "text" };
    if (token) init.headers.authorization = `Bearer ${token}`;
    if (body !== undefined) init.body = body;
    let response;
    let text;
    try {
      const answer = await perks.request(method.toLowerCase(), path, init);
      response = answer.response;
      text = answer.data ?? answer.error ?? "";
    } catch (error) {
      throw new DemoError(`${method} ${path}: could not reach ${base} (${error.cause?.code ?? error.message}). Is \`npm run dev\` running?`);
    }
    let parsed = text;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      // an SVG or HTML body stays text
    }
    const result = { status: response.status, body: parsed, headers: response.headers };
    onResponse?.(method, path, result);
    const wanted = expect === undefined ? response.status >= 200 && response.status < 300 : [expect].flat().includes(response.status);
    if (!wanted) throw new DemoError(`${method} ${path} answered ${response.status}${expect ? ` (expected ${[expect].flat().join(" or ")})` : ""}`, result);
    return result;
  };
}

/** Polls `read` until `done(value)`; throws after `timeoutMs` with the last value. */
export async function poll(read, done, { timeoutMs = 20_000, intervalMs = 300, what = "the condition" } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    last = await read();
    if (done(last)) return last;
    if (Date.now() > deadline) throw new DemoError(`timed out after ${timeoutMs / 1000} s waiting for ${what}`, { status: last?.status, body: last?.body ?? last });
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

export function assert(condition, message, response) {
  if (!condition) throw new DemoError(message, response);
}

const useColor = process.stdout.isTTY && !process.env.NO_COLOR;
const paint = (code, text) => (useColor ? `\x1b[${code}m${text}\x1b[0m` : text);

/** A later step that needs an earlier one's result throws this when that step failed. */
export class Skipped extends Error {}

export function createSteps() {
  const tally = { passed: 0, failed: 0, skipped: 0 };
  async function step(name, run) {
    try {
      const fact = await run();
      tally.passed++;
      console.log(`${paint(32, "✔")} ${name}${fact ? paint(90, ` — ${fact}`) : ""}`);
      return true;
    } catch (error) {
      if (error instanceof Skipped) {
        tally.skipped++;
        console.log(`${paint(33, "-")} ${name}${paint(90, ` — skipped: ${error.message}`)}`);
        return false;
      }
      tally.failed++;
      console.log(`${paint(31, "✘")} ${name} — ${error.message}`);
      if (error.response) console.log(paint(90, indent(JSON.stringify(error.response.body, null, 2) ?? String(error.response.body))));
      else if (!(error instanceof DemoError)) console.log(paint(90, indent(error.stack ?? String(error))));
      return false;
    }
  }
  function section(title) {
    console.log(`\n${paint(1, title)}`);
  }
  return { step, section, tally };
}

const indent = (text) =>
  String(text)
    .split("\n")
    .slice(0, 40)
    .map((line) => `    ${line}`)
    .join("\n");

/** Throws Skipped unless every value is present: for steps that build on an earlier one. */
export function need(values, because) {
  for (const value of values) if (value === undefined || value === null) throw new Skipped(because);
}
