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
