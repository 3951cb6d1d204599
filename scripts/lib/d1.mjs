// D1 for the scripts (seed, admin:create, bench data): statements are drizzle `sql` fragments, so
// every value is a bound parameter and nothing is pasted into SQL text. A fragment may embed
// another (a subquery) and its parameters come along.
//
// openD1() opens the database through wrangler's getPlatformProxy(): the local one is the very
// SQLite file `wrangler dev` and `wrangler d1 migrations apply --local` use (.wrangler/state/v3);
// `remote: true` reaches the deployed database (wrangler's remote bindings, after `wrangler login`).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { sql } from "drizzle-orm";
import { SQLiteSyncDialect } from "drizzle-orm/sqlite-core";
import { ROOT } from "./wrangler.mjs";

export { sql };

/** Where `wrangler dev --local` keeps its state (wrangler's default persist path). */
export const LOCAL_STATE = join(ROOT, ".wrangler", "state", "v3");

const dialect = new SQLiteSyncDialect();

/** `{ sql, params }` of a fragment: the SQL text with `?` placeholders and the values to bind. */
export function toStatement(fragment) {
  const { sql: text, params } = dialect.sqlToQuery(fragment);
  for (const value of params) {
    if (value === undefined) throw new TypeError(`undefined bound into: ${text}`);
  }
  return { sql: text, params };
}

export const prepare = (db, fragment) => {
  const { sql: text, params } = toStatement(fragment);
  return db.prepare(text).bind(...params);
};

/** Runs the fragments as one D1 batch (one transaction). */
export async function runAll(db, fragments, { name = "statements" } = {}) {
  if (fragments.length === 0) return;
  try {
    await db.batch(fragments.map((f) => prepare(db, f)));
  } catch (error) {
    throw new Error(`applying ${name} failed: ${error?.message ?? error}`);
  }
}

/**
 * A config holding only the D1 binding of wrangler.toml, so the proxy starts nothing else (no
 * Durable Object or queue warnings) and names the same database (the same database_id, hence the
 * same local file).
 */
async function d1OnlyConfig({ remote }) {
  const { unstable_readConfig } = await import("wrangler");
  const config = unstable_readConfig({ config: join(ROOT, "wrangler.toml") });
  const binding = config.d1_databases.find((d) => d.binding === "DB");
  if (!binding) throw new Error("wrangler.toml has no D1 binding named DB");
  const dir = join(ROOT, ".wrangler", "tmp");
  mkdirSync(dir, { recursive: true });
  const path = join(dir, remote ? "scripts-d1-remote.json" : "scripts-d1-local.json");
  const text = JSON.stringify(
    {
      name: config.name,
      compatibility_date: config.compatibility_date,
      d1_databases: [{ binding: "DB", database_name: binding.database_name, database_id: binding.database_id, ...(remote ? { remote: true } : {}) }],
    },
    null,
    2,
  );
  if (!existsSync(path) || readFileSync(path, "utf8") !== text) writeFileSync(path, text);
  return path;
}

/** Resolves `{ db, dispose }`; always call dispose (it stops the local runtime). */
export async function openD1({ remote = false } = {}) {
  const { getPlatformProxy } = await import("wrangler");
  const proxy = await getPlatformProxy({
    configPath: await d1OnlyConfig({ remote }),
    persist: { path: LOCAL_STATE },
    remoteBindings: remote,
    envFiles: [],
  });
  return { db: proxy.env.DB, dispose: () => proxy.dispose() };
}
