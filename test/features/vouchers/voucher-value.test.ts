// A voucher's value summary is written two ways: in TS for most answers, in SQL for the scan's
// lookup (which answers it instead of shipping the seven value columns). They must agree.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { VOUCHER_VALUE_COLUMNS, type VoucherValueRow, voucherValueOfRow, voucherValueSql } from "../../../src/features/vouchers/voucher-value";

const row = (over: Partial<VoucherValueRow>): VoucherValueRow => ({
  voucher_type: 3,
  percentage_value: null,
  percentage_min_bill: null,
  flat_amount: null,
  flat_min_bill: null,
  product_name: null,
  product_min_bill: null,
  ...over,
});

const AMOUNTS = [null, 0, 1, 5, 50, 99, 100, 101, 1250, 5000, 10050, 123456, 999999];

describe("the voucher's value summary", () => {
  it("is the same from TS and from SQL for every kind, amount and missing column", async () => {
    const rows: VoucherValueRow[] = [];
    for (const amount of AMOUNTS)
      rows.push(
        row({ voucher_type: 1, percentage_value: amount, percentage_min_bill: AMOUNTS[(AMOUNTS.indexOf(amount) + 3) % AMOUNTS.length]! }),
        row({ voucher_type: 2, flat_amount: amount, flat_min_bill: amount }),
        row({ voucher_type: 3, product_name: amount === null ? null : `Item ${amount}`, product_min_bill: amount }),
      );
    rows.push(row({ voucher_type: null as unknown as number, product_name: "Tea" }), row({ product_name: "" }), row({ product_name: "Zoë's ☕" }));
    const sql = `WITH r(${VOUCHER_VALUE_COLUMNS.join(", ")}) AS (VALUES (${VOUCHER_VALUE_COLUMNS.map((_, i) => `?${i + 1}`).join(", ")}))
      SELECT ${voucherValueSql("r")} AS value FROM r`;
    for (const r of rows) {
      const answer = await env.DB.prepare(sql).bind(...VOUCHER_VALUE_COLUMNS.map((c) => r[c])).first<{ value: string }>();
      expect([r, answer!.value]).toEqual([r, voucherValueOfRow(r)]);
    }
  });
});
