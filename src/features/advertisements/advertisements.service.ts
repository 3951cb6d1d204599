import { and, eq } from "drizzle-orm";
import { createDb } from "../../db/client";
import { vouchers } from "../../db/schema";
import type { Env } from "../../env";
import { ApiError, ErrorCode, notFound } from "../../lib/errors";
import { uuid } from "../../lib/ids";
import { toPoints } from "../../lib/money";
import { nowIso } from "../../lib/time";
import { insufficientBalance, walletApply, type WalletResult } from "../wallet/wallet.service";
import { requireMerchant } from "../merchants/merchants.service";
import { adRates, checkNewRun, creationCost, extendedEnd, tooLong } from "./ad-pricing";
import { mediaUrl, readImage, storeImage } from "../media/images";

export const today = (now = nowIso()) => now.slice(0, 10);

export interface CreateAdInput {
  userId: number;
  voucher: number;
  start_date: string;
  end_date: string;
  city: string;
  state: string;
  /** Stored in R2 only once the caller, the voucher and the dates are known good. */
  banner: File | null;
  idempotencyKey?: string;
}

/** The trigger advertisements_length_guard_* refuses a run past advertisement_max_days inside D1. */
const LENGTH_GUARD = "advertisement_too_long";

function refused(result: Exclude<WalletResult, { ok: true }>, cost: number, maxDays: number): never {
  if (result.reason === "INSUFFICIENT_FUNDS") throw insufficientBalance(result.balance, cost);
  if (result.constraint === LENGTH_GUARD) throw tooLong(maxDays);
  throw new ApiError(409, ErrorCode.CONFLICT, "The advertisement could not be saved. Please try again.");
}

/** The merchant's own voucher, and only one that is on show: an ad for a hidden voucher would be paid for and never seen. */
async function advertisableVoucher(env: Env, merchantId: number, voucherId: number) {
  const voucher = await createDb(env.DB).query.vouchers.findFirst({
    where: and(eq(vouchers.id, voucherId), eq(vouchers.merchantId, merchantId)),
    columns: { id: true, title: true, isActive: true, validUntil: true },
  });
  if (!voucher) throw notFound("Voucher");
  if (!voucher.isActive) throw new ApiError(400, ErrorCode.INACTIVE, "This voucher is inactive, so it cannot be advertised.");
  if (voucher.validUntil && voucher.validUntil <= nowIso()) throw new ApiError(400, ErrorCode.EXPIRED, "This voucher has expired, so it cannot be advertised.");
  return voucher;
}

/**
 * Authorise and validate everything first, then store the banner, then one D1 batch through the
 * wallet: no charge without an ad, no ad without a charge, and no stored banner without an ad.
 * The price follows the run: the creation fee covers the included days, each further day pays the
 * per-day rate.
 */
export async function createAdvertisement(env: Env, input: CreateAdInput) {
  const merchant = await requireMerchant(env, input.userId, { active: true });
  const voucher = await advertisableVoucher(env, merchant.id, input.voucher);
  const rates = await adRates(env);
  const days = checkNewRun(rates, input.start_date, input.end_date, today());
  const { cost, extraDays } = creationCost(rates, days);
  const banner = input.banner ? await readImage(input.banner, "banner_image") : null;

  const note = `Advertisement Creation: ${voucher.title}`;
  const now = nowIso();
  const transactionId = uuid();
  const bannerKey = banner ? await storeImage(env, "advertisements", banner) : null;
  let result: WalletResult;
  try {
    // A cost of 0 moves no money (no ledger entry): the ad row is then the batch's only write.
    result = await walletApply(env, {
      userId: input.userId,
      amount: -cost,
      kind: "debit",
      idempotencyKey: `advertisement:${input.idempotencyKey ?? transactionId}`,
      note,
      transaction: cost > 0 ? { id: transactionId, type: "ADVERTISEMENT", description: note } : undefined,
      statements: [
        {
          sql: `INSERT INTO advertisements (merchant_id, voucher_id, banner_key, start_date, end_date, city, state, is_active, transaction_id, created_at, updated_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?) RETURNING id`,
          params: [merchant.id, voucher.id, bannerKey, input.start_date, input.end_date, input.city, input.state, cost > 0 ? transactionId : null, now, now],
        },
      ],
    });
  } catch (error) {
    if (bannerKey) await env.MEDIA.delete(bannerKey);
    throw error;
  }
  // Refused, or a replay of an ad that already has its own banner: this upload belongs to nothing.
  if (bannerKey && (!result.ok || result.replayed)) await env.MEDIA.delete(bannerKey);
  if (!result.ok) refused(result, cost, rates.maxDays);
  const row = result.replayed
    ? await env.DB.prepare("SELECT id FROM advertisements WHERE transaction_id = ?").bind(result.transactionId).first<{ id: number }>()
    : (result.results[0]![0] as { id: number });
  return {
    message: "Advertisement created successfully",
    advertisement_id: row!.id,
    voucher_title: voucher.title,
    days,
    included_days: rates.includedDays,
    extra_days: extraDays,
    cost_deducted: toPoints(cost),
    remaining_balance: toPoints(result.balance),
    transaction_note: note,
  };
}

/**
 * Extension adds `days` after the current end (or after yesterday, if the ad already ended, so
 * the merchant pays only for days still to come), at the per-day rate, up to the maximum run. The
 * new end is computed inside the UPDATE, so two concurrent extensions both count, and the length
 * guard in D1 refuses the one that would pass the maximum (its debit rolls back with it).
 */
export async function extendAdvertisement(env: Env, input: { userId: number; adId: number; days: number; idempotencyKey?: string }) {
  const merchant = await requireMerchant(env, input.userId, { active: true });
  const ad = await env.DB.prepare(
    `SELECT a.id, a.start_date, a.end_date, v.title, v.is_active AS voucher_active
       FROM advertisements a JOIN vouchers v ON v.id = a.voucher_id WHERE a.id = ? AND a.merchant_id = ?`,
  )
    .bind(input.adId, merchant.id)
    .first<{ id: number; start_date: string; end_date: string; title: string; voucher_active: number }>();
  if (!ad) throw notFound("Advertisement");
  if (!ad.voucher_active) throw new ApiError(400, ErrorCode.INACTIVE, "This advertisement's voucher is inactive, so the advertisement cannot be extended.");
  const rates = await adRates(env);
  const now = nowIso();
  const day = today(now);
  extendedEnd(ad, input.days, day, rates.maxDays);
  const cost = rates.perDay * input.days;
  const note = `Advertisement Extension: ${ad.title} (+${input.days} days)`;
  const update = {
    sql: `UPDATE advertisements
             SET end_date = date(CASE WHEN end_date >= ?1 THEN end_date ELSE date(?1, '-1 day') END, '+' || ?2 || ' days'),
                 is_active = 1, updated_at = ?3
           WHERE id = ?4 AND merchant_id = ?5 RETURNING end_date`,
    params: [day, input.days, now, ad.id, merchant.id],
  };
  const result = await walletApply(env, {
    userId: input.userId,
    amount: -cost,
    kind: "debit",
    idempotencyKey: `advertisement-extension:${input.idempotencyKey ?? uuid()}`,
    note,
    transaction: cost > 0 ? { type: "ADVERTISEMENT_EXTENSION", description: note } : undefined,
    statements: [update],
  });
  if (!result.ok) refused(result, cost, rates.maxDays);
  const endDate = result.replayed
    ? (await env.DB.prepare("SELECT end_date FROM advertisements WHERE id = ?").bind(ad.id).first<{ end_date: string }>())!.end_date
    : (result.results[0]![0] as { end_date: string }).end_date;
  return {
    message: "Advertisement extended successfully",
    advertisement_id: ad.id,
    days_extended: input.days,
    new_end_date: endDate,
    cost_deducted: toPoints(cost),
    remaining_balance: toPoints(result.balance),
    transaction_note: note,
  };
}

export const ACTIVE_LIST_CAP = 100;

/** Showing now: started, not ended, active ad, active voucher, active merchant. */
export async function activeAdvertisements(env: Pick<Env, "DB">, base: string, location: { city?: string; state?: string } = {}) {
  const day = today();
  const filters: string[] = [];
  const params: unknown[] = [day];
  if (location.city) {
    params.push(location.city.trim());
    filters.push(`AND a.city = ?${params.length} COLLATE NOCASE`);
  }
  if (location.state) {
    params.push(location.state.trim());
    filters.push(`AND a.state = ?${params.length} COLLATE NOCASE`);
  }
  const { results } = await env.DB.prepare(
    `SELECT a.id, v.title AS voucher_title, m.business_name AS merchant_name, a.banner_key, a.start_date, a.end_date, a.city, a.state
       FROM advertisements a JOIN vouchers v ON v.id = a.voucher_id JOIN merchants m ON m.id = a.merchant_id
      WHERE a.is_active = 1 AND v.is_active = 1 AND m.is_active = 1 AND a.start_date <= ?1 AND a.end_date >= ?1 ${filters.join(" ")}
      ORDER BY a.created_at DESC, a.id DESC LIMIT ${ACTIVE_LIST_CAP}`,
  )
    .bind(...params)
    .all<{ id: number; voucher_title: string; merchant_name: string; banner_key: string | null; start_date: string; end_date: string; city: string; state: string }>();
  return results.map(({ banner_key, ...ad }) => ({ ...ad, banner_image: mediaUrl(base, banner_key) }));
}

/** Cron: ads whose last day has passed stop being active. Idempotent (only flips active rows). */
export async function deactivateEndedAdvertisements(env: Pick<Env, "DB">, at: Date) {
  const day = at.toISOString().slice(0, 10);
  const result = await env.DB.prepare("UPDATE advertisements SET is_active = 0, updated_at = ? WHERE is_active = 1 AND end_date < ?")
    .bind(at.toISOString(), day)
    .run();
  return { deactivated: result.meta.changes };
}
