import { getTableColumns } from "drizzle-orm";
import { QueryBuilder, type SQLiteTable } from "drizzle-orm/sqlite-core";

const selectAll = <T extends SQLiteTable>(table: T) => new QueryBuilder().select(getTableColumns(table)).from(table);
/** A select of every column of `T`, for `prebuiltSelect` to refine (where, order, limit). */
export type SelectAll<T extends SQLiteTable> = ReturnType<typeof selectAll<T>>;

/**
 * A drizzle select of a table's rows whose SQL text is built once per isolate. drizzle builds the
 * text again on every run (its select builder walks every column and condition: about a fifth of
 * the offers list's CPU on a miss) and maps each row through generic checks. The statement never
 * changes, so drizzle builds it here once from the schema (column names, conditions and their
 * bound values) and each call only binds and runs it, decoding every column with the column's own
 * decoder (booleans, enums) in the order drizzle selected them.
 */
export function prebuiltSelect<T extends SQLiteTable>(
  table: T,
  refine: (query: SelectAll<T>) => { toSQL(): { sql: string; params: unknown[] } },
): (db: D1Database) => Promise<T["$inferSelect"][]> {
  const { sql, params } = refine(selectAll(table)).toSQL();
  const fields = Object.entries(getTableColumns(table));
  return async (db) => {
    const rows = await db
      .prepare(sql)
      .bind(...params)
      .raw();
    return rows.map((row) => {
      const out: Record<string, unknown> = {};
      for (let i = 0; i < fields.length; i++) {
        const [key, column] = fields[i]!;
        const value = row[i];
        out[key] = value === null ? null : column.mapFromDriverValue(value);
      }
      return out as T["$inferSelect"];
    });
  };
}
