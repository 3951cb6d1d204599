/**
 * Multipart fields arrive as text. They are converted to the JSON body's types here and then
 * validated by the same strict schema, so both request forms obey one set of rules.
 */
const INTEGER_FIELDS = new Set(["voucher_type", "count", "category", "redemptions_per_purchase", "validity_days", "max_shares_per_purchase"]);
const BOOLEAN_FIELDS = new Set(["is_gift_card", "is_active"]);
const NULLABLE_FIELDS = new Set(["count", "category", "valid_from", "valid_until"]);

export function formToBody(form: Record<string, unknown>): { body: Record<string, unknown>; image: File | null } {
  const body: Record<string, unknown> = {};
  let image: File | null = null;
  for (const [name, value] of Object.entries(form)) {
    if (name === "image") {
      if (value instanceof File && value.size > 0) image = value;
      else if (value !== "" && value !== undefined) body.image = value;
      continue;
    }
    if (typeof value !== "string") {
      body[name] = value;
      continue;
    }
    const text = value.trim();
    if (text === "" && NULLABLE_FIELDS.has(name)) body[name] = null;
    else if (INTEGER_FIELDS.has(name) && /^-?\d+$/.test(text)) body[name] = Number(text);
    else if (BOOLEAN_FIELDS.has(name) && /^(true|false|1|0)$/i.test(text)) body[name] = /^(true|1)$/i.test(text);
    else body[name] = value;
  }
  return { body, image };
}
