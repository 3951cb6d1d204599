import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { isUniqueViolation, refusingConstraint } from "../../src/lib/d1-errors";

/** Real refusals from D1 (as miniflare runs it), not hand-written error strings. */
async function refusal(sql: string): Promise<unknown> {
  try {
    await env.DB.prepare(sql).run();
  } catch (error) {
    return error;
  }
  throw new Error(`expected D1 to refuse: ${sql}`);
}

describe("reading D1's refusals", () => {
  beforeAll(async () => {
    await env.DB.batch([
      env.DB.prepare("CREATE TABLE d1e (id INTEGER PRIMARY KEY, code TEXT UNIQUE, n INTEGER CONSTRAINT d1e_positive CHECK (n > 0), label TEXT NOT NULL DEFAULT 'x')"),
      env.DB.prepare("CREATE TRIGGER d1e_frozen BEFORE DELETE ON d1e BEGIN SELECT RAISE(ABORT, 'd1e_frozen'); END"),
      env.DB.prepare("INSERT INTO d1e (id, code, n) VALUES (1, 'a', 1)"),
    ]);
  });

  it("names the UNIQUE column that refused a write", async () => {
    const error = await refusal("INSERT INTO d1e (id, code, n) VALUES (2, 'a', 1)");
    expect(isUniqueViolation(error)).toBe(true);
    expect(isUniqueViolation(error, "d1e.code")).toBe(true);
    expect(isUniqueViolation(error, "d1e.other")).toBe(false);
    expect(refusingConstraint(error)).toBe("unique");
  });

  it("names a CHECK constraint and a trigger's RAISE", async () => {
    const check = await refusal("UPDATE d1e SET n = 0 WHERE id = 1");
    expect(refusingConstraint(check)).toBe("d1e_positive");
    expect(isUniqueViolation(check)).toBe(false);
    expect(refusingConstraint(await refusal("DELETE FROM d1e WHERE id = 1"))).toBe("d1e_frozen");
  });

  it("reports nothing for an error that is not a named constraint", async () => {
    expect(refusingConstraint(await refusal("INSERT INTO d1e (id, code, n, label) VALUES (3, 'b', 1, NULL)"))).toBeNull();
    const error = await refusal("SELECT * FROM no_such_table");
    expect(refusingConstraint(error)).toBeNull();
    expect(isUniqueViolation(error)).toBe(false);
  });
});
