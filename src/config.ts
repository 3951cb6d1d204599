import { z } from "zod";
import type { Env } from "./env";
import { publicBaseUrlProblem } from "./lib/public-url";

/**
 * The worker's vars and secrets, checked once per isolate at the entry of fetch, queue and
 * scheduled. Defaults live here and only here: the env the rest of the code sees has them filled
 * in. A missing or malformed value is logged once as one line naming it, and health answers
 * `misconfigured`; a malformed optional value falls back to its default.
 */
const flag = z.enum(["true", "false"], { error: `must be "true" or "false"` });
const positiveInt = z.string().regex(/^[1-9][0-9]*$/, "must be a positive whole number");
const wholeNumber = z.string().regex(/^[0-9]+$/, "must be a whole number");
const amount = z.string().regex(/^[0-9]+(\.[0-9]{1,2})?$/, 'must be an amount such as "0.00"');
const url = z.string().regex(/^https?:\/\/[^\s/]+/, "must be an http(s) URL");
const optionalUrl = z.union([z.literal(""), url]);

export const CONFIG_DEFAULTS = {
  ENVIRONMENT: "production",
  JWT_KID: "k1",
  JWT_PREVIOUS_KID: "k0",
  JWT_ISSUER: "perks-edge",
  JWT_AUDIENCE: "perks-edge-api",
  ACCESS_TOKEN_TTL_SECONDS: "900",
  REFRESH_TOKEN_TTL_SECONDS: "1209600",
  CORS_ORIGINS: "",
  REQUIRE_API_KEY: "false",
  SIGNUP_BONUS: "0.00",
  EXPIRY_NOTICE_WINDOW_DAYS: "3",
  PUBLIC_BASE_URL: "",
  REDIS_TIMEOUT_MS: "250",
  READ_CACHE_SECONDS: "10",
  RECIPIENT_DAILY_MESSAGE_LIMIT: "20",
  SENDER_HOURLY_MESSAGE_LIMIT: "200",
} as const satisfies Partial<Record<keyof Env, string>>;

const SCHEMA: Partial<Record<keyof Env, z.ZodType<string>>> = {
  JWT_SECRET: z.string().min(16, "is required: at least 16 characters (`wrangler secret put JWT_SECRET`, or .dev.vars locally)"),
  JWT_PREVIOUS_SECRET: z.string().min(16, "must be at least 16 characters when set"),
  JWT_ISSUER: z.string().min(1),
  JWT_AUDIENCE: z.string().min(1),
  ACCESS_TOKEN_TTL_SECONDS: positiveInt,
  REFRESH_TOKEN_TTL_SECONDS: positiveInt,
  REQUIRE_API_KEY: flag,
  SIGNUP_BONUS: amount,
  EXPIRY_NOTICE_WINDOW_DAYS: wholeNumber,
  PUBLIC_BASE_URL: optionalUrl,
  READ_CACHE_SECONDS: wholeNumber,
  UPSTASH_REDIS_REST_URL: optionalUrl,
  REDIS_TIMEOUT_MS: positiveInt,
  PARTNER_API_URL: optionalUrl,
  RECIPIENT_DAILY_MESSAGE_LIMIT: positiveInt,
  SENDER_HOURLY_MESSAGE_LIMIT: positiveInt,
};

/** Values that may be absent (a sandbox or a default stands in); the others must be present. */
const OPTIONAL = new Set<string>(["JWT_PREVIOUS_SECRET", "UPSTASH_REDIS_REST_URL", "PARTNER_API_URL", ...Object.keys(CONFIG_DEFAULTS)]);

export interface Configuration {
  env: Env;
  /** One sentence per bad value, naming it but never showing it. */
  problems: string[];
}

const checked = new WeakMap<object, Configuration>();
const logged = new Set<string>();

/** The last bindings object seen and its configuration: the per-request fast path. */
let last: { raw: object; configuration: Configuration } | null = null;

/**
 * A checked env, or a per-request env layered on one (Object.create, own DB and queues): the
 * layer inherits the checked values and has that one's problems.
 */
function knownConfiguration(raw: object): Configuration | undefined {
  for (let layer: object | null = raw; layer && layer !== Object.prototype; layer = Object.getPrototypeOf(layer)) {
    const known = last && layer === last.raw ? last.configuration : checked.get(layer);
    if (known) return layer === raw ? known : { env: raw as Env, problems: known.problems };
  }
  return undefined;
}

/** Same bindings, value for value (a runtime handing each request a fresh env object with the same bindings). */
function sameBindings(a: object, b: object): boolean {
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  for (const key of keys) if ((a as Record<string, unknown>)[key] !== (b as Record<string, unknown>)[key]) return false;
  return true;
}

export function checkConfiguration(raw: Env): Configuration {
  const known = knownConfiguration(raw);
  if (known) return known;
  if (last && Object.getPrototypeOf(raw) === Object.prototype && sameBindings(raw, last.raw)) {
    checked.set(raw, last.configuration);
    return last.configuration;
  }
  const configuration = parseConfiguration(raw);
  last = { raw, configuration };
  return configuration;
}

function parseConfiguration(raw: Env): Configuration {
  // for...in, not a spread: an env layered on another (Object.create) inherits most of its values.
  const values: Record<string, unknown> = {};
  for (const name in raw) values[name] = raw[name as keyof Env];
  const problems: string[] = [];
  for (const [name, fallback] of Object.entries(CONFIG_DEFAULTS)) if (values[name] === undefined || values[name] === "") values[name] = fallback;
  for (const [name, schema] of Object.entries(SCHEMA) as [string, z.ZodType<string>][]) {
    const value = values[name];
    if ((value === undefined || value === "") && OPTIONAL.has(name)) continue;
    const result = schema.safeParse(value ?? "");
    if (result.success) continue;
    problems.push(`${name} ${result.error.issues[0]?.message ?? "is invalid"}`);
    if (name in CONFIG_DEFAULTS) values[name] = CONFIG_DEFAULTS[name as keyof typeof CONFIG_DEFAULTS];
  }
  // Links are never guessed from the Host header: outside development the base must be set.
  const baseProblem = publicBaseUrlProblem(values as unknown as Env);
  if (baseProblem && !problems.some((p) => p.startsWith("PUBLIC_BASE_URL"))) problems.push(baseProblem);
  const configuration = { env: values as unknown as Env, problems };
  // Bindings objects are stable per isolate: the parse and the log happen once.
  checked.set(raw, configuration);
  checked.set(configuration.env, configuration);
  const line = JSON.stringify({ level: "error", msg: "configuration invalid", problems });
  if (problems.length > 0 && !logged.has(line)) {
    logged.add(line);
    console.error(line);
  }
  return configuration;
}

/** The env with defaults filled in, as the handlers should see it. */
export const configured = (raw: Env): Env => checkConfiguration(raw).env;
