/**
 * What a till's scanner can hand us. Printed and on-screen codes differ (a purchase reference,
 * a gift-card claim reference, an id typed in by hand, a UUID, or the JSON the QR image holds),
 * so every form is reduced to one lookup key before touching the database.
 */
export type QrKey =
  | { kind: "reference"; value: string }
  | { kind: "redemption_id"; value: number }
  | { kind: "uuid"; value: string }
  /** Matches no purchase: the lookup then only tells whether the caller is a merchant. */
  | { kind: "none"; value: "" };

/**
 * Whether a key is one nobody can guess: a purchase reference (random, 8 characters of 32) or a
 * UUID. A redemption id is sequential, so a lookup by it is always charged to the till's limit.
 */
export const isUnguessable = (key: QrKey | null): boolean => key?.kind === "reference" || key?.kind === "uuid";

const REFERENCE = /^(VCH|GFT)-([A-Z0-9]{4,32})$/i;
const EMBEDDED_REFERENCE = /\b(VCH|GFT)-([A-Z0-9]{4,32})\b/i;
const NUMERIC_ID = /^\d{1,15}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function parseQrData(raw: string): QrKey | null {
  const text = raw.trim();
  if (text.startsWith("{")) return fromJson(text);
  const reference = REFERENCE.exec(text);
  if (reference) return { kind: "reference", value: `${reference[1]!.toUpperCase()}-${reference[2]!.toUpperCase()}` };
  if (NUMERIC_ID.test(text)) return positiveId(Number(text));
  if (UUID.test(text)) return { kind: "uuid", value: text.toLowerCase() };
  // A QR that encodes a link to the purchase (e.g. https://.../vouchers/VCH-ABCD2345).
  if (/^https?:\/\//i.test(text)) {
    const embedded = EMBEDDED_REFERENCE.exec(text);
    if (embedded) return { kind: "reference", value: `${embedded[1]!.toUpperCase()}-${embedded[2]!.toUpperCase()}` };
  }
  return null;
}

function positiveId(id: number): QrKey | null {
  return Number.isSafeInteger(id) && id > 0 ? { kind: "redemption_id", value: id } : null;
}

/** The spec's `qr_code_data` object: `{"purchase_reference", "redemption_id", "voucher_uuid"}`. */
function fromJson(text: string): QrKey | null {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof data !== "object" || data === null || Array.isArray(data)) return null;
  const record = data as Record<string, unknown>;
  if (typeof record.purchase_reference === "string") {
    const key = parseQrData(record.purchase_reference);
    return key?.kind === "reference" ? key : null;
  }
  const id = record.redemption_id;
  if (typeof id === "number" || (typeof id === "string" && NUMERIC_ID.test(id))) return positiveId(Number(id));
  // The purchase QR's JSON (user-vouchers) puts the redemption's UUID under `voucher_uuid`;
  // a true voucher UUID there is recognised by the lookup and answered with a clear 400.
  if (typeof record.voucher_uuid === "string" && UUID.test(record.voucher_uuid.trim()))
    return { kind: "uuid", value: record.voucher_uuid.trim().toLowerCase() };
  return null;
}
