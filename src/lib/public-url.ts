import type { Env } from "../env";
import { ApiError, ErrorCode } from "./errors";

type UrlEnv = Pick<Env, "PUBLIC_BASE_URL" | "ENVIRONMENT">;

/** `npm run dev` writes PUBLIC_BASE_URL; a development run without it uses wrangler's default address. */
const DEVELOPMENT_DEFAULT = "http://localhost:8787";

/**
 * What is wrong with PUBLIC_BASE_URL, or null. The rule: an absolute http(s) URL with no query or
 * fragment; required everywhere but development. Links are never built from the request's Host
 * header, which any client sets (a gift-card message "claim at http://attacker.example/...").
 */
export function publicBaseUrlProblem(env: UrlEnv): string | null {
  const raw = (env.PUBLIC_BASE_URL ?? "").trim();
  if (!raw) return env.ENVIRONMENT === "development" ? null : "PUBLIC_BASE_URL is not set: absolute links (gift-card claims, QR images, media, pages) need it.";
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return "PUBLIC_BASE_URL is not an absolute URL.";
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") return "PUBLIC_BASE_URL must be an http or https URL.";
  if (url.search || url.hash) return "PUBLIC_BASE_URL must not have a query or a fragment.";
  return null;
}

/**
 * The last base that passed the check, with the values it came from: an isolate's configuration
 * does not change, so a page with links (every public page builds two) parses it once, not twice
 * per request. A value with a problem is never kept: it is checked, logged and refused every time.
 */
let checked: { raw: string | undefined; environment: string | undefined; base: string } | null = null;

/** The one base every absolute link is built from (no trailing slash). */
export function publicBaseUrl(env: UrlEnv): string {
  if (checked && checked.raw === env.PUBLIC_BASE_URL && checked.environment === env.ENVIRONMENT) return checked.base;
  const problem = publicBaseUrlProblem(env);
  if (problem) {
    console.error(JSON.stringify({ level: "error", msg: "configuration error", problem }));
    throw new ApiError(503, ErrorCode.SERVICE_UNAVAILABLE, "The service is not fully configured; please try again later.");
  }
  const base = ((env.PUBLIC_BASE_URL ?? "").trim() || DEVELOPMENT_DEFAULT).replace(/\/+$/, "");
  checked = { raw: env.PUBLIC_BASE_URL, environment: env.ENVIRONMENT, base };
  return base;
}

/** A link to `path` (starting with "/") under the public base. */
export function publicUrl(env: UrlEnv, path: string): string {
  return `${publicBaseUrl(env)}${path}`;
}

/** The request's own path and query under the public base (pagination links). */
export function publicRequestUrl(env: UrlEnv, requestUrl: string): string {
  const url = new URL(requestUrl);
  return `${publicBaseUrl(env)}${url.pathname}${url.search}`;
}
