// A voucher's value summary, as every answer that shows a voucher writes it (the till's scan, the
// lists, the gift cards): the amounts are hundredths, shown without a fraction when it is zero.
import { describe, expect, it } from "vitest";
import { type VoucherValueRow, voucherValueOfRow } from "../../../src/features/vouchers/voucher-value";

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

describe("the voucher's value summary", () => {
  it.each([
    [row({ voucher_type: 1, percentage_value: 5000, percentage_min_bill: 10000 }), "50% off (min bill: ₹100)"],
    [row({ voucher_type: 1, percentage_value: 1250, percentage_min_bill: 10050 }), "12.50% off (min bill: ₹100.50)"],
    [row({ voucher_type: 1, percentage_value: 1, percentage_min_bill: null }), "0.01% off (min bill: ₹0)"],
    [row({ voucher_type: 2, flat_amount: 5000, flat_min_bill: 20000 }), "₹50 off (min bill: ₹200)"],
    [row({ voucher_type: 2, flat_amount: 99, flat_min_bill: 101 }), "₹0.99 off (min bill: ₹1.01)"],
    [row({ voucher_type: 2, flat_amount: null, flat_min_bill: 123456 }), "₹0 off (min bill: ₹1234.56)"],
    [row({ product_name: "Coffee", product_min_bill: 0 }), "Free Coffee (min bill: ₹0)"],
    [row({ product_name: "Zoë's ☕", product_min_bill: 999999 }), "Free Zoë's ☕ (min bill: ₹9999.99)"],
    [row({ product_name: null, product_min_bill: 5 }), "Free item (min bill: ₹0.05)"],
    [row({ voucher_type: 9, product_name: "Tea" }), "Free Tea (min bill: ₹0)"],
  ])("%o reads %s", (value, summary) => {
    expect(voucherValueOfRow(value)).toBe(summary);
  });
});
