// The holder's name is written two ways: in TS for the scan and history, in SQL for the answer a
// redeem's batch stores. They must agree, or a replayed redeem would name someone else's way.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { holderName, holderNameSql } from "../../../src/features/merchant-scan/merchant-scan.lookup";

const NAMES: [string | null, string | null, string][] = [
  ["Ann", "Lee", "ann"],
  ["Ann", null, "ann"],
  [null, "Lee", "lee"],
  [null, null, "nobody"],
  ["", "", "blank"],
  ["  Ann ", " Lee  ", "spaced"],
  ["\tAnn\n", "\r", "tabbed"],
  ["Zoë", "Ōtani", "unicode"],
  ["   ", "   ", "spaces-only"],
];

describe("the holder's name", () => {
  it("is the same from TS and from SQL for every shape of name", async () => {
    for (const [first_name, last_name, username] of NAMES) {
      const row = await env.DB.prepare(`SELECT ${holderNameSql("u")} AS name FROM (SELECT ?1 AS first_name, ?2 AS last_name, ?3 AS username) u`)
        .bind(first_name, last_name, username)
        .first<{ name: string }>();
      expect(row!.name, JSON.stringify([first_name, last_name])).toBe(holderName({ first_name: first_name as string, last_name: last_name as string, username }));
    }
  });
});
