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
  const headers: Record<string, string> = { ...options.headers };
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
