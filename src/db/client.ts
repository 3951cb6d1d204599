import { createTableRelationsHelpers, extractTablesRelationalConfig, type ExtractTablesWithRelations, type RelationalSchemaConfig } from "drizzle-orm";
import { DrizzleD1Database } from "drizzle-orm/d1";
import { SQLiteD1Session } from "drizzle-orm/d1/session";
import { SQLiteAsyncDialect } from "drizzle-orm/sqlite-core";
import * as schema from "./schema";

export type Database = DrizzleD1Database<typeof schema> & { $client: D1Database };

// What `drizzle(d1, { schema })` derives from the schema on every call (the relational config of
// every table), derived once per isolate instead: it cost more CPU than the small read most
// callers make with it. The per-call part is what `drizzle()` itself builds for a client.
const dialect = new SQLiteAsyncDialect();
const tables = extractTablesRelationalConfig(schema, createTableRelationsHelpers);
// drizzle types the extracted config loosely; it is the config of exactly these tables.
const relationalSchema = { fullSchema: schema, schema: tables.tables, tableNamesMap: tables.tableNamesMap } as unknown as RelationalSchemaConfig<
  ExtractTablesWithRelations<typeof schema>
>;

export function createDb(d1: D1Database): Database {
  const session = new SQLiteD1Session(d1, dialect, relationalSchema, {});
  const db = new DrizzleD1Database<typeof schema>("async", dialect, session as never, relationalSchema) as Database;
  db.$client = d1;
  return db;
}
