import { VOUCHER_TYPES } from "../../db/schema";

type ValueFields = {
  voucherType: number;
  percentageValue: number | null;
  percentageMinBill: number | null;
  flatAmount: number | null;
  flatMinBill: number | null;
  productName: string | null;
  productMinBill: number | null;
};

/**
 * The columns a voucher's value and terms are built from, as SQL rows carry them (snake_case). A
 * purchase freezes its own copy of them when sold, so the same names exist on `vouchers` and
 * `voucher_redemptions`.
 */
export const VOUCHER_VALUE_COLUMNS = [
  "voucher_type",
  "percentage_value",
  "percentage_min_bill",
  "flat_amount",
  "flat_min_bill",
  "product_name",
  "product_min_bill",
] as const;

/** `VOUCHER_VALUE_COLUMNS` qualified by a table alias of the query (`r`, `v`, ...), for a SELECT list. */
export const voucherValueColumns = (alias: "r" | "v" | "src") => VOUCHER_VALUE_COLUMNS.map((c) => `${alias}.${c}`).join(", ");

/** The same value columns as SQL rows carry them, for raw queries that select `voucherValueColumns`. */
export interface VoucherValueRow {
  voucher_type: number;
  percentage_value: number | null;
  percentage_min_bill: number | null;
  flat_amount: number | null;
  flat_min_bill: number | null;
  product_name: string | null;
  product_min_bill: number | null;
}

/** Hundredths to the shortest readable number: 10000 -> "100", 10050 -> "100.50". */
export function compactAmount(hundredths: number | null): string {
  const value = hundredths ?? 0;
  const whole = Math.floor(value / 100);
  const fraction = value % 100;
  return fraction === 0 ? String(whole) : `${whole}.${String(fraction).padStart(2, "0")}`;
}

export const voucherTypeName = (type: number) => VOUCHER_TYPES[type as keyof typeof VOUCHER_TYPES] ?? "unknown";

/** The spec's human summary: "50% off (min bill: ₹100)", "₹50 off (min bill: ₹200)", "Free Coffee (min bill: ₹0)". */
export function voucherValue(v: ValueFields): string {
  switch (v.voucherType) {
    case 1:
      return `${compactAmount(v.percentageValue)}% off (min bill: ₹${compactAmount(v.percentageMinBill)})`;
    case 2:
      return `₹${compactAmount(v.flatAmount)} off (min bill: ₹${compactAmount(v.flatMinBill)})`;
    default:
      return `Free ${v.productName ?? "item"} (min bill: ₹${compactAmount(v.productMinBill)})`;
  }
}

/** `voucherValue` for a raw SQL row. */
export function voucherValueOfRow(row: VoucherValueRow): string {
  return voucherValue({
    voucherType: row.voucher_type,
    percentageValue: row.percentage_value,
    percentageMinBill: row.percentage_min_bill,
    flatAmount: row.flat_amount,
    flatMinBill: row.flat_min_bill,
    productName: row.product_name,
    productMinBill: row.product_min_bill,
  });
}

/** `compactAmount` as SQL over a column of hundredths (NULL reads as 0, as there). */
function compactAmountSql(column: string) {
  const value = `COALESCE(${column}, 0)`;
  return `CASE WHEN ${value} % 100 = 0 THEN printf('%d', ${value} / 100) ELSE printf('%d.%02d', ${value} / 100, ${value} % 100) END`;
}

/**
 * `voucherValueOfRow` as SQL over a row named `alias` that has the value columns: for a query that
 * answers the summary itself instead of shipping its seven columns (a test holds the two equal).
 */
export const voucherValueSql = (alias: string) => `CASE ${alias}.voucher_type
    WHEN 1 THEN ${compactAmountSql(`${alias}.percentage_value`)} || '% off (min bill: ₹' || ${compactAmountSql(`${alias}.percentage_min_bill`)} || ')'
    WHEN 2 THEN '₹' || ${compactAmountSql(`${alias}.flat_amount`)} || ' off (min bill: ₹' || ${compactAmountSql(`${alias}.flat_min_bill`)} || ')'
    ELSE 'Free ' || COALESCE(${alias}.product_name, 'item') || ' (min bill: ₹' || ${compactAmountSql(`${alias}.product_min_bill`)} || ')' END`;
