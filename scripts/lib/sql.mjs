// SQL literals for scripts that hand SQL text to `wrangler d1 execute`. Values are inlined, so
// quote every one of them through here.
class RawSql {
  constructor(text) {
    this.text = text;
  }
}

/** Marks SQL text (a subquery, a column name) to be inlined as is by the `sql` tag. */
export const raw = (text) => new RawSql(text);

export function sqlValue(value) {
  if (value instanceof RawSql) return value.text;
  if (value === null || value === undefined) return "NULL";
  if (typeof value === "number") {
    if (!Number.isSafeInteger(value)) throw new TypeError(`Refusing non-integer SQL number: ${value}`);
    return String(value);
  }
  if (typeof value === "boolean") return value ? "1" : "0";
  if (typeof value !== "string") throw new TypeError(`Unsupported SQL value type: ${typeof value}`);
  if (value.includes("\0")) throw new TypeError("Refusing a NUL character in an SQL string");
  return `'${value.replaceAll("'", "''")}'`;
}

/** Tagged template: sql`SELECT * FROM users WHERE username = ${name}` inlines quoted values. */
export function sql(strings, ...values) {
  return strings.reduce((out, part, i) => out + part + (i < values.length ? sqlValue(values[i]) : ""), "");
}
