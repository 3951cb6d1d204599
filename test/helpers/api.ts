import { exports } from "cloudflare:workers";

export const BASE = "http://perks.test";

export interface ApiResponse<T = any> {
  status: number;
  headers: Headers;
  body: T;
}

/** Calls the whole worker (aliases, middleware, error handler) the way a client would. */
export async function api<T = any>(
  method: string,
  path: string,
  options: { token?: string; body?: unknown; headers?: Record<string, string>; raw?: BodyInit } = {},
): Promise<ApiResponse<T>> {
  // A fresh client address per call, as if every test request came from its own device, so the
  // real rate-limit bindings (keyed by address for anonymous calls) never couple unrelated tests.
  const headers: Record<string, string> = { "cf-connecting-ip": randomTestIp(), ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  let body: BodyInit | undefined = options.raw;
  if (options.body !== undefined) {
    headers["content-type"] ??= "application/json";
    body = JSON.stringify(options.body);
  }
  const response = await exports.default.fetch(new Request(`${BASE}${path}`, { method, headers, body }));
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    // not JSON (docs HTML, SVG): keep the text
  }
  return { status: response.status, headers: response.headers, body: parsed as T };
}

let ipCounter = 0;
function randomTestIp() {
  ipCounter++;
  return `198.18.${(ipCounter >> 8) & 255}.${ipCounter & 255}:${crypto.randomUUID().slice(0, 8)}`;
}

/** Asserts nothing internal leaks: every error has the one shape and no stack, SQL or driver text. */
export function isCleanError(body: any): boolean {
  const text = JSON.stringify(body);
  return (
    typeof body?.error === "string" &&
    typeof body?.code === "string" &&
    typeof body?.request_id === "string" &&
    !/at .+\(.+:\d+:\d+\)|SQLITE|D1_ERROR|stack|traceback|debug_info|SELECT |INSERT |UPDATE /i.test(text)
  );
}
