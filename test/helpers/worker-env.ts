import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
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

/**
 * The worker's D1 binding with every round trip the request makes recorded: a query, or a batch
 * with the SQL of its statements. `beforeBatch` runs just before each batch (a fault: another
 * till writing between the request's read and its write).
 */
export function roundTripDb(beforeBatch?: () => Promise<unknown>) {
  const trips: { kind: "query" | "batch"; sql: string[] }[] = [];
  const sqlOf = new WeakMap<object, string>();
  const wrapStatement = (statement: D1PreparedStatement, sql: string): D1PreparedStatement => {
    const wrapped = new Proxy(statement, {
      get(target, property) {
        if (property === "bind") return (...values: unknown[]) => wrapStatement(target.bind(...values), sql);
        const value = Reflect.get(target, property, target);
        if (typeof value !== "function") return value;
        if (["first", "all", "run", "raw"].includes(String(property))) return (...args: unknown[]) => (trips.push({ kind: "query", sql: [sql] }), value.apply(target, args));
        return value.bind(target);
      },
    });
    sqlOf.set(wrapped, sql);
    return wrapped;
  };
  const db = interceptD1(env.DB, (target, property) => {
    if (property === "prepare") return (sql: string) => wrapStatement(target.prepare(sql), sql);
    if (property === "batch")
      return async (statements: D1PreparedStatement[]) => {
        await beforeBatch?.();
        trips.push({ kind: "batch", sql: statements.map((s) => sqlOf.get(s) ?? "?") });
        return target.batch(statements);
      };
    return undefined;
  });
  return { db, trips };
}
