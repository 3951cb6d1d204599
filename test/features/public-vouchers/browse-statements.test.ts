import { describe, expect, it } from "vitest";
import { browseStatements, buildBrowseStatements } from "../../../src/features/public-vouchers/public-vouchers.service";
import type { BrowseQuery } from "../../../src/features/public-vouchers/public-vouchers.schemas";

/** Two value sets for every filter; `search: ""` is no filter at all. */
const FIRST = { category: 3, merchant: 7, voucher_type: 2, is_gift_card: true, search: "50%_off" };
const SECOND = { category: 11, merchant: 2, voucher_type: 1, is_gift_card: false, search: "coffee" };
const NAMES = Object.keys(FIRST) as (keyof typeof FIRST)[];

const query = (values: typeof FIRST | typeof SECOND, mask: number, page: number, page_size: number): BrowseQuery => {
  const q: Record<string, unknown> = { page, page_size };
  NAMES.forEach((name, i) => {
    if (mask & (1 << i)) q[name] = values[name];
  });
  return q as BrowseQuery;
};

describe("browse statements built once per set of filters", () => {
  it.each(Array.from({ length: 1 << NAMES.length }, (_, mask) => mask))("filter set %i: the remembered SQL with this request's values equals a fresh build", (mask) => {
    const first = query(FIRST, mask, 1, 20);
    const second = query(SECOND, mask, 3, 5);
    // The first call builds and keeps the text; the next ones only list their own values.
    expect(browseStatements(first, null, "2026-01-01T00:00:00.000Z")).toEqual(buildBrowseStatements(first, null, "2026-01-01T00:00:00.000Z"));
    expect(browseStatements(second, 42, "2026-02-02T00:00:00.000Z")).toEqual(buildBrowseStatements(second, 42, "2026-02-02T00:00:00.000Z"));
    expect(browseStatements(first, 9, "2026-03-03T00:00:00.000Z")).toEqual(buildBrowseStatements(first, 9, "2026-03-03T00:00:00.000Z"));
  });

  it("an empty search adds no condition, like no search", () => {
    const none = browseStatements(query(FIRST, 0, 1, 20), null, "2026-01-01T00:00:00.000Z");
    const empty = browseStatements({ ...query(FIRST, 0, 1, 20), search: "" }, null, "2026-01-01T00:00:00.000Z");
    expect(empty).toEqual(none);
    expect(none.countSql).not.toContain("LIKE");
  });
});
