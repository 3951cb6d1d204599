import type { PurchaseStatus } from "../../db/schema";
import { nowIso } from "../../lib/time";

/**
 * When a purchased voucher or a claimed gift-card copy can be redeemed: still `purchased`, units
 * left, not past its expiry (even before the cron marks it `expired`), and its merchant not
 * deactivated. A voucher the merchant stopped selling stays redeemable for those who bought it.
 * One rule, read three ways: `cannotRedeemReason` (why not, for the till's scan and a refused
 * redeem), `canRedeem` (the lists' `can_redeem`) and `redeemableCondition` (the guard of the
 * redeem UPDATE itself).
 */
export interface RedeemableFields {
  purchase_status: PurchaseStatus;
  remaining_redemptions: number;
  expiry_date: string;
  /** The voucher's merchant's `is_active` (1 or 0). */
  merchant_active: number;
}

export const CANNOT_REDEEM_REASONS = ["cancelled", "refunded", "used_up", "expired", "merchant_inactive"] as const;
export type CannotRedeemReason = (typeof CANNOT_REDEEM_REASONS)[number];

const REASON_TEXT: Record<CannotRedeemReason, string> = {
  cancelled: "This voucher purchase was cancelled.",
  refunded: "This voucher purchase was refunded.",
  used_up: "This voucher has no redemptions left.",
  expired: "This voucher has expired.",
  merchant_inactive: "The merchant's business profile is inactive.",
};

/** Why a purchase cannot be redeemed now, or null if it can. */
export function cannotRedeemReason(row: RedeemableFields, now: string): { code: CannotRedeemReason; text: string } | null {
  let reason: CannotRedeemReason | null = null;
  if (row.purchase_status === "cancelled") reason = "cancelled";
  else if (row.purchase_status === "refunded") reason = "refunded";
  else if (row.purchase_status === "redeemed" || row.remaining_redemptions <= 0) reason = "used_up";
  else if (row.purchase_status !== "purchased" || row.expiry_date <= now) reason = "expired";
  else if (row.merchant_active !== 1) reason = "merchant_inactive";
  return reason ? cannotRedeemReasonOf(reason) : null;
}

/** The reason's code and its sentence for the till. */
const cannotRedeemReasonOf = (code: CannotRedeemReason) => ({ code, text: REASON_TEXT[code] });

export const canRedeem = (row: RedeemableFields, now = nowIso()) => cannotRedeemReason(row, now) === null;

/** A numbered parameter (`?1`, `?2`, ...): the SQL below only ever names values, never holds them. */
export type Placeholder = `?${number}`;

/**
 * The same rule as SQL, over a `voucher_redemptions` row named `table` (its name or alias): true
 * when `units` more redemptions can be taken at time `now`. The caller binds both values.
 */
export function redeemableCondition(table: string, p: { now: Placeholder; units: Placeholder }) {
  return `${table}.purchase_status = 'purchased' AND ${table}.expiry_date > ${p.now} AND ${table}.remaining_redemptions >= ${p.units}
    AND EXISTS (SELECT 1 FROM merchants rm WHERE rm.id = ${table}.merchant_id AND rm.is_active = 1)`;
}
