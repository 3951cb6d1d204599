import { env } from "cloudflare:workers";
import { getTableConfig, SQLiteTable } from "drizzle-orm/sqlite-core";
import { describe, expect, it } from "vitest";
import * as schema from "../../src/db/schema";

/** The drizzle schema is hand-kept beside plain SQL migrations; this keeps the two from drifting. */
describe("drizzle schema and migrations agree", () => {
  // A Set: a table may be exported under a second name (voucherPurchases is voucherRedemptions).
  const tables = [...new Set(Object.values(schema as Record<string, unknown>).filter((value): value is SQLiteTable => value instanceof SQLiteTable))];

  it("declares every table the migrations create, and no other", async () => {
    const { results } = await env.DB.prepare(
      "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%' AND name NOT LIKE 'd1_%'",
    ).all<{ name: string }>();
    const migrated = results.map((r) => r.name).sort();
    expect(migrated.length).toBeGreaterThan(0);
    expect(tables.map((t) => getTableConfig(t).name).sort()).toEqual(migrated);
  });

  it.each(tables.map((table) => [getTableConfig(table).name, table] as const))("%s has the same columns", async (name, table) => {
    const { results } = await env.DB.prepare(`SELECT name, "notnull" AS not_null FROM pragma_table_info(?)`).bind(name).all<{ name: string; not_null: number }>();
    const migrated = Object.fromEntries(results.map((c) => [c.name, c.not_null === 1]));
    const declared = Object.fromEntries(getTableConfig(table).columns.map((c) => [c.name, c.notNull && !c.primary ? true : migrated[c.name] ?? false]));
    expect(Object.keys(migrated).sort()).toEqual(Object.keys(declared).sort());
    for (const column of getTableConfig(table).columns) if (!column.primary) expect([name, column.name, migrated[column.name]]).toEqual([name, column.name, column.notNull]);
  });
});

describe("drizzle schema declares the migrations' indexes", () => {
  const tables = [...new Set(Object.values(schema as Record<string, unknown>).filter((value): value is SQLiteTable => value instanceof SQLiteTable))];

  it("every index a migration creates is declared on its table, with the same uniqueness, and no other", async () => {
    // sql IS NOT NULL leaves out SQLite's automatic indexes for PRIMARY KEY and inline UNIQUE.
    const { results } = await env.DB.prepare(
      `SELECT m.tbl_name AS table_name, m.name, l."unique" AS is_unique FROM sqlite_master m
         JOIN pragma_index_list(m.tbl_name) l ON l.name = m.name
        WHERE m.type = 'index' AND m.sql IS NOT NULL AND m.tbl_name NOT LIKE '_cf_%' AND m.tbl_name NOT LIKE 'd1_%'`,
    ).all<{ table_name: string; name: string; is_unique: number }>();
    const migrated = results.map((r) => `${r.table_name}.${r.name}${r.is_unique ? " (unique)" : ""}`).sort();
    const declared = tables
      .flatMap((table) => {
        const config = getTableConfig(table);
        return config.indexes.map((index) => `${config.name}.${index.config.name}${index.config.unique ? " (unique)" : ""}`);
      })
      .sort();
    expect(migrated.length).toBeGreaterThan(0);
    expect(declared).toEqual(migrated);
  });
});
