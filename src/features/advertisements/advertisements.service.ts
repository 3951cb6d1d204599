import type { Env } from "../../env";
import { ApiError, ErrorCode, notFound, validationError } from "../../lib/errors";
import { uuid } from "../../lib/ids";
import { toPoints } from "../../lib/money";
import { nowIso } from "../../lib/time";
import { insufficientBalance, walletApply, type WalletResult } from "../wallet/wallet.service";
import { requireActiveMerchant } from "../merchant-scan/merchant-access";
import { getCost } from "../settings/settings.service";
import { bannerUrl } from "./banner-image";

export const today = (now = nowIso()) => now.slice(0, 10);

export interface CreateAdInput {
  userId: number;
  voucher: number;
  start_date: string;
  end_date: string;
  city: string;
  state: string;
  bannerKey: string | null;
  idempotencyKey?: string;
}

function refused(result: Exclude<WalletResult, { ok: true }>, cost: number): never {
  if (result.reason === "INSUFFICIENT_FUNDS") throw insufficientBalance(result.balance, cost);
  throw new ApiError(409, ErrorCode.CONFLICT, "The advertisement could not be saved. Please try again.");
}

/** The debit and the advertisement row commit in one D1 batch: no charge without an ad, no ad without a charge. */
export async function createAdvertisement(env: Env, input: CreateAdInput) {
  const merchant = await requireActiveMerchant(env, input.userId);
  const voucher = await env.DB.prepare("SELECT id, title FROM vouchers WHERE id = ? AND merchant_id = ?")
    .bind(input.voucher, merchant.id)
    .first<{ id: number; title: string }>();
  if (!voucher) throw notFound("Voucher");
  if (input.end_date < input.start_date) throw validationError("end_date must be on or after start_date.");
  if (input.end_date < today()) throw validationError("end_date must not be in the past.");

  const cost = await getCost(env, "advertisement_cost");
  const note = `Advertisement Creation: ${voucher.title}`;
  const now = nowIso();
  const transactionId = uuid();
  const insert = {
    sql: `INSERT INTO advertisements (merchant_id, voucher_id, banner_key, start_date, end_date, city, state, is_active, transaction_id, created_at, updated_at)
          VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?) RETURNING id`,
    params: [merchant.id, voucher.id, input.bannerKey, input.start_date, input.end_date, input.city, input.state, cost > 0 ? transactionId : null, now, now],
  };
  // A cost of 0 moves no money (no ledger entry): the ad row is then the batch's only write.
  const result = await walletApply(env, {
    userId: input.userId,
    amount: -cost,
    kind: "debit",
    idempotencyKey: `advertisement:${input.idempotencyKey ?? transactionId}`,
    note,
    transaction: cost > 0 ? { id: transactionId, type: "ADVERTISEMENT", description: note } : undefined,
    statements: [insert],
  });
  if (!result.ok) {
    if (input.bannerKey) await env.MEDIA.delete(input.bannerKey);
    refused(result, cost);
  }
  const balance = result.balance;
  const row = result.replayed
    ? await env.DB.prepare("SELECT id FROM advertisements WHERE transaction_id = ?").bind(result.transactionId).first<{ id: number }>()
    : (result.results[0]![0] as { id: number });
  const adId = row!.id;
  return {
    message: "Advertisement created successfully",
    advertisement_id: adId,
    voucher_title: voucher.title,
    cost_deducted: toPoints(cost),
    remaining_balance: toPoints(balance),
    transaction_note: note,
  };
}

/**
 * Extension adds `days` after the current end (or after yesterday, if the ad already ended, so
 * the merchant pays only for days still to come). The new end is computed inside the UPDATE, so
 * two concurrent extensions both count.
 */
export async function extendAdvertisement(env: Env, input: { userId: number; adId: number; days: number; idempotencyKey?: string }) {
  const merchant = await requireActiveMerchant(env, input.userId);
  const ad = await env.DB.prepare(
    "SELECT a.id, v.title FROM advertisements a JOIN vouchers v ON v.id = a.voucher_id WHERE a.id = ? AND a.merchant_id = ?",
  )
    .bind(input.adId, merchant.id)
    .first<{ id: number; title: string }>();
  if (!ad) throw notFound("Advertisement");
  const perDay = await getCost(env, "advertisement_extension_cost_per_day");
  const cost = perDay * input.days;
  const note = `Advertisement Extension: ${ad.title} (+${input.days} days)`;
  const now = nowIso();
  const day = today(now);
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
  if (!result.ok) refused(result, cost);
  const balance = result.balance;
  const endDate = result.replayed
    ? (await env.DB.prepare("SELECT end_date FROM advertisements WHERE id = ?").bind(ad.id).first<{ end_date: string }>())!.end_date
    : (result.results[0]![0] as { end_date: string }).end_date;
  return {
    message: "Advertisement extended successfully",
    advertisement_id: ad.id,
    days_extended: input.days,
    new_end_date: endDate,
    cost_deducted: toPoints(cost),
    remaining_balance: toPoints(balance),
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
  return results.map(({ banner_key, ...ad }) => ({ ...ad, banner_image: bannerUrl(base, banner_key) }));
}

/** Cron: ads whose last day has passed stop being active. Idempotent (only flips active rows). */
export async function deactivateEndedAdvertisements(env: Pick<Env, "DB">, at: Date) {
  const day = at.toISOString().slice(0, 10);
  const result = await env.DB.prepare("UPDATE advertisements SET is_active = 0, updated_at = ? WHERE is_active = 1 AND end_date < ?")
    .bind(at.toISOString(), day)
    .run();
  return { deactivated: result.meta.changes };
}
