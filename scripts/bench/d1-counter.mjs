// Counting D1 work per request. A small entry module wraps the built bundle: every D1 binding the
// worker and its wallet Durable Object see is a proxy that counts round trips (each first/all/run/
// raw, each batch, each exec) and statements (a batch of n counts n). GET /__bench/d1 returns the
// counts since the last read and resets them. Only used for counting, never in the timed runs.
import { writeFileSync } from "node:fs";
import { join } from "node:path";

const ENTRY = `import worker, * as bundle from "./index.js";

const counts = { round_trips: 0, statements: 0 };
const unwrapped = new WeakMap();
const passThrough = (target, property) => {
  const value = Reflect.get(target, property, target);
  return typeof value === "function" ? value.bind(target) : value;
};

function countStatement(statement) {
  const proxy = new Proxy(statement, {
    get(target, property) {
      if (property === "bind") return (...args) => countStatement(target.bind(...args));
      if (property === "first" || property === "all" || property === "run" || property === "raw")
        return (...args) => {
          counts.round_trips++;
          counts.statements++;
          return target[property](...args);
        };
      return passThrough(target, property);
    },
  });
  unwrapped.set(proxy, statement);
  return proxy;
}

function countDb(db) {
  return new Proxy(db, {
    get(target, property) {
      if (property === "prepare") return (query) => countStatement(target.prepare(query));
      if (property === "batch")
        return (statements) => {
          counts.round_trips++;
          counts.statements += statements.length;
          return target.batch(statements.map((s) => unwrapped.get(s) ?? s));
        };
      if (property === "exec")
        return (query) => {
          counts.round_trips++;
          counts.statements++;
          return target.exec(query);
        };
      return passThrough(target, property);
    },
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
