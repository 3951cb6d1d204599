import type { Env } from "../../env";
import { validationError } from "../../lib/errors";
import { getCost, getDays } from "../settings/settings.service";

/**
 * Calendar days are YYYY-MM-DD strings (UTC). Arithmetic goes through epoch days, so no input can
 * overflow into an invalid date: callers compare against the length limit before any result is used.
 */
const DAY_MS = 86_400_000;
const epochDay = (day: string) => Math.round(Date.parse(`${day}T00:00:00Z`) / DAY_MS);
export const addDays = (day: string, days: number) => new Date((epochDay(day) + days) * DAY_MS).toISOString().slice(0, 10);
/** The last calendar day dates here can name (four-digit years). */
const LAST_DAY = epochDay("9999-12-31");
/** Days an ad shows from `start` through `end`, both included. */
export const runLength = (start: string, end: string) => epochDay(end) - epochDay(start) + 1;

export interface AdRates {
  /** The creation fee, in minor units: it covers `includedDays`. */
  fee: number;
  perDay: number;
  includedDays: number;
  maxDays: number;
}

export async function adRates(env: Pick<Env, "DB">): Promise<AdRates> {
  const [fee, perDay, includedDays, maxDays] = await Promise.all([
    getCost(env, "advertisement_cost"),
    getCost(env, "advertisement_extension_cost_per_day"),
    getDays(env, "advertisement_included_days"),
    getDays(env, "advertisement_max_days"),
  ]);
  return { fee, perDay, includedDays, maxDays };
}

/** What an ad of `days` costs: the fee covers the included days, each further day pays the per-day rate. */
export function creationCost(rates: AdRates, days: number) {
  const extraDays = Math.max(0, days - rates.includedDays);
  return { cost: rates.fee + extraDays * rates.perDay, extraDays };
}

export const tooLong = (maxDays: number, details: Record<string, unknown> = {}) =>
  validationError(`An advertisement runs at most ${maxDays} days, counted from its start or today, whichever is later.`, {
    max_days: maxDays,
    ...details,
  });

/** Checks a new ad's dates: it starts today or later and runs at most the maximum; returns its length. */
export function checkNewRun(rates: AdRates, start: string, end: string, today: string) {
  if (start < today) throw validationError("start_date must be today or later.", { fields: ["start_date"], today });
  if (end < start) throw validationError("end_date must be on or after start_date.", { fields: ["end_date"] });
  const days = runLength(start, end);
  if (days > rates.maxDays) throw tooLong(rates.maxDays, { days_requested: days });
  return days;
}

/**
 * An extension adds `days` after the current end, or after yesterday if the ad already ended (so
 * only days still to come are paid). Refused if the run would pass the maximum length from the
 * later of its start and today; compared as numbers of days, so even an end of 9999-12-31 is
 * refused cleanly instead of overflowing.
 */
export function extendedEnd(ad: { start_date: string; end_date: string }, days: number, today: string, maxDays: number) {
  const from = epochDay(ad.end_date >= today ? ad.end_date : addDays(today, -1)) + days;
  const counted = ad.start_date > today ? ad.start_date : today;
  const last = epochDay(counted) + maxDays - 1;
  if (from > last) throw tooLong(maxDays, { days_available: Math.max(0, last - Math.max(epochDay(ad.end_date), epochDay(today) - 1)) });
  if (from > LAST_DAY) throw validationError("An advertisement cannot run past 9999-12-31.", { max_end_date: "9999-12-31" });
  return new Date(from * DAY_MS).toISOString().slice(0, 10);
}
