// D1 tells why it refused a statement only in the error's text (and sometimes its `cause`).
// This is the one place that reads that text, so a change in the driver's wording is one fix.

const CHECK_FAILED = /CHECK constraint failed: (\w+)/;
/** A trigger's `RAISE(ABORT, '<name>')`: "D1_ERROR: <name>: SQLITE_CONSTRAINT (extended: ...TRIGGER)". */
const RAISED = /(?:^|: )([A-Za-z_]\w*): SQLITE_CONSTRAINT\b/;
/** SQLite's own wording for a refused constraint (NOT NULL, FOREIGN KEY, ...), which names no trigger. */
const BUILT_IN = /constraint failed/i;
const UNIQUE_FAILED = /UNIQUE constraint failed: ([\w.]+(?:, [\w.]+)*)/i;
const NOT_NULL_FAILED = /NOT NULL constraint failed: ([\w.]+)/i;

const NO_SUCH_TABLE = /no such table: ([\w.]+)/i;

/** The table a statement needed and the database lacks (its migrations were never applied), else null. */
export function missingTable(error: unknown): string | null {
  return NO_SUCH_TABLE.exec(d1ErrorText(error))?.[1] ?? null;
}

export function d1ErrorText(error: unknown): string {
  const message = String((error as Error)?.message ?? error);
  const cause = (error as { cause?: unknown })?.cause;
  return cause === undefined ? message : `${message} ${String((cause as Error)?.message ?? cause)}`;
}

/** True when a UNIQUE index refused the write; with `column` ("table.column"), only that one. */
export function isUniqueViolation(error: unknown, column?: string): boolean {
  const failed = UNIQUE_FAILED.exec(d1ErrorText(error));
  if (!failed) return false;
  return column === undefined || failed[1]!.split(", ").includes(column);
}

/** True when a NOT NULL column ("table.column") refused the write. */
export function isNotNullViolation(error: unknown, column: string): boolean {
  return NOT_NULL_FAILED.exec(d1ErrorText(error))?.[1] === column;
}

/** The name of the CHECK or trigger that refused a write, "unique" for a UNIQUE index, else null. */
export function refusingConstraint(error: unknown): string | null {
  const text = d1ErrorText(error);
  const check = CHECK_FAILED.exec(text)?.[1];
  if (check) return check;
  if (UNIQUE_FAILED.test(text)) return "unique";
  if (BUILT_IN.test(text)) return null;
  return RAISED.exec(text)?.[1] ?? null;
}
