/**
 * Phone numbers are stored in E.164 (`+919876543210`). Spaces, dashes, dots and brackets are
 * ignored; a leading `00` means `+`. A number without a country code is accepted only when the
 * caller supplies a default country calling code (e.g. "91"), because guessing would send
 * messages to strangers.
 */
const E164 = /^\+[1-9]\d{7,14}$/;

export function normalizePhone(input: string, defaultCountryCode?: string): string | null {
  let digits = input.trim().replace(/[\s\-.()]/g, "");
  if (digits.startsWith("00")) digits = `+${digits.slice(2)}`;
  if (!digits.startsWith("+")) {
    if (!defaultCountryCode || !/^\d+$/.test(digits)) return null;
    digits = `+${defaultCountryCode}${digits.replace(/^0+/, "")}`;
  }
  return E164.test(digits) ? digits : null;
}

export const isE164 = (value: string) => E164.test(value);
