// Counting D1 work per request. A small entry module wraps the built bundle: every D1 binding the
// worker and its wallet Durable Object see (and every session opened on it) is a proxy that counts
// round trips (each first/all/run/raw, each batch, each exec), statements (a batch of n counts n)
// and the round trips that must reach the primary. GET /__bench/d1 returns the
// counts since the last read and resets them. Only used for counting, never in the timed runs.
import { writeFileSync } from "node:fs";
import { join } from "node:path";

const ENTRY = `import worker, * as bundle from "./index.js";
// Every other export (Durable Object classes) as the bundle has it; the wallet's is wrapped below.
export * from "./index.js";

// primary_round_trips: a round trip that must reach D1's primary: any write, any query on the
// plain binding (no session), and the first query of a "first-primary" session. Reads on a
// session opened "first-unconstrained" or at a bookmark may be served by a read replica.
const counts = { round_trips: 0, statements: 0, primary_round_trips: 0 };
const unwrapped = new WeakMap();
const WRITE = /^\\s*(?:with\\b[^]*?\\)\\s*)?(?:insert|update|delete|replace)\\b/i;
const passThrough = (target, property) => {
  const value = Reflect.get(target, property, target);
  return typeof value === "function" ? value.bind(target) : value;
};

/** origin: { session: false } for the plain binding, or the session's state. */
function onPrimary(origin, sqls) {
  if (!origin.session || sqls.some((sql) => WRITE.test(sql))) return true;
  const first = origin.first;
  origin.first = false;
  return first && origin.constraint === "first-primary";
}

function trip(origin, sqls) {
  counts.round_trips++;
  counts.statements += sqls.length;
  if (onPrimary(origin, sqls)) counts.primary_round_trips++;
}

function countStatement(statement, sql, origin) {
  const proxy = new Proxy(statement, {
    get(target, property) {
      if (property === "bind") return (...args) => countStatement(target.bind(...args), sql, origin);
      if (property === "first" || property === "all" || property === "run" || property === "raw")
        return (...args) => {
          trip(origin, [sql]);
          return target[property](...args);
        };
      return passThrough(target, property);
    },
  });
  unwrapped.set(proxy, { statement, sql });
  return proxy;
}

function countTarget(target, origin, extra = {}) {
  return new Proxy(target, {
    get(t, property) {
      if (property in extra) return extra[property];
      if (property === "prepare") return (query) => countStatement(t.prepare(query), query, origin);
      if (property === "batch")
        return (statements) => {
          trip(origin, statements.map((s) => unwrapped.get(s)?.sql ?? ""));
          return t.batch(statements.map((s) => unwrapped.get(s)?.statement ?? s));
        };
      if (property === "exec")
        return (query) => {
          trip({ session: false }, [query]);
          return t.exec(query);
        };
      return passThrough(t, property);
    },
  });
}

function countDb(db) {
  return countTarget(db, { session: false }, {
    withSession: (constraint) => countTarget(db.withSession(constraint), { session: true, constraint: constraint ?? "first-unconstrained", first: true }),
  });
}

const counted = (env) => ({ ...env, DB: countDb(env.DB) });

export class WalletDurableObject extends bundle.WalletDurableObject {
  constructor(ctx, env) {
    super(ctx, counted(env));
  }
}

export default {
  fetch(request, env, ctx) {
    if (new URL(request.url).pathname === "/__bench/d1") {
      const body = JSON.stringify(counts);
      counts.round_trips = 0;
      counts.statements = 0;
      counts.primary_round_trips = 0;
      return new Response(body, { headers: { "content-type": "application/json" } });
    }
    return worker.fetch(request, counted(env), ctx);
  },
  queue: (batch, env, ctx) => worker.queue(batch, counted(env), ctx),
  scheduled: (controller, env, ctx) => worker.scheduled(controller, counted(env), ctx),
};
`;

/** Writes the counting entry next to the bundle; returns its path. */
export function writeCountingEntry(outdir) {
  const path = join(outdir, "counting.mjs");
  writeFileSync(path, ENTRY);
  return path;
}
