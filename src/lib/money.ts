import { validationError } from "./errors";

/**
 * Money and points are integers of minor units (1/100) everywhere they are stored or added.
 * Decimal strings are parsed digit by digit so no float ever touches an amount.
 */
const AMOUNT = /^(\d{1,12})(?:\.(\d{1,2}))?$/;

export function parseAmount(input: string | number, field = "amount"): number {
  const text = typeof input === "number" ? String(input) : input.trim();
  const match = AMOUNT.exec(text);
  if (!match) throw validationError(`${field} must be a positive amount with at most two decimals, like "100.00".`);
  const whole = Number(match[1]);
  const fraction = Number((match[2] ?? "").padEnd(2, "0"));
  return whole * 100 + fraction;
}

/** "20.00": the string form the specs use for amounts. */
export function formatAmount(minor: number): string {
  const sign = minor < 0 ? "-" : "";
  const abs = Math.abs(minor);
  return `${sign}${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, "0")}`;
}

/** 10.0: the number form the voucher spec uses for points (display only, never for arithmetic). */
export function toPoints(minor: number): number {
  return minor / 100;
}
