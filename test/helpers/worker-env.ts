import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import worker from "../../src/index";
import { BASE } from "./api";

/**
 * A POST through the worker with an env of the test's own (a recording D1, a queue that refuses),
 * waiting for the work it left to `waitUntil`.
 */
export async function postWithEnv(workerEnv: object, path: string, options: { token: string; body: unknown; headers?: Record<string, string> }) {
  const ctx = createExecutionContext();
  const response = await worker.fetch(
    new Request(`${BASE}${path}`, {
      method: "POST",
      headers: { authorization: `Bearer ${options.token}`, "content-type": "application/json", ...options.headers },
      body: JSON.stringify(options.body),
    }) as Request<unknown, IncomingRequestCfProperties>,
    workerEnv as never,
    ctx,
  );
  await waitOnExecutionContext(ctx);
  return { status: response.status, headers: response.headers, body: (await response.json()) as any };
}

/**
 * A D1 binding whose methods `intercept` may replace, on the binding and on every session opened
 * from it (requests read through sessions): return a function to use instead of
 * `target[property]`, or undefined to keep it.
 */
export function interceptD1(db: D1Database, intercept: (target: D1Database | D1DatabaseSession, property: string | symbol) => unknown): D1Database {
  const wrap = <T extends D1Database | D1DatabaseSession>(inner: T): T =>
    new Proxy(inner, {
      get(target, property) {
        if (property === "withSession") return (constraint?: string) => wrap((target as D1Database).withSession(constraint));
        const replaced = intercept(target, property);
        if (replaced !== undefined) return replaced;
        const value = Reflect.get(target, property, target);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
  return wrap(db);
}
