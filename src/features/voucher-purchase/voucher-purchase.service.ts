import type { Env } from "../../env";
import { ApiError, ErrorCode, badRequest, conflict, notFound } from "../../lib/errors";
import { referenceCode, uuid } from "../../lib/ids";
import { toPoints } from "../../lib/money";
import { addDays, nowIso } from "../../lib/time";
import { cachedGuess, reloadCached } from "../../lib/read-cache";
import { costSettingSql } from "../settings/settings.service";
import { pointsAfter, walletApply, walletRefused, type SqlStatement, type StoredAnswer } from "../wallet/wallet.service";

const soldOut = () => new ApiError(400, ErrorCode.SOLD_OUT, "This voucher is sold out.");
/** The trigger in migrations/0006 that refuses a cancel or refund the state does not allow. */
const CANCEL_GUARD = "redemption_not_cancellable";
/** The CHECK a shared gift card's cancel or refund trips on purpose (see `transition`). */
const SHARED_GUARD = "redemption_remaining";
const REFERENCE_ATTEMPTS = 3;

interface VoucherForSale {
  id: number;
  title: string;
  merchant_id: number;
  is_active: number;
  merchant_active: number;
  count: number | null;
  /** Purchases plus claimed gift-card copies: what the stock must cover. */
  issued: number;
  valid_from: string | null;
  valid_until: string | null;
  validity_days: number;
  redemptions_per_purchase: number;
  cost: number;
}

const FOR_SALE_TABLES = ["vouchers", "merchants", "site_settings"] as const;
const forSaleKey = (voucherId: number) => `voucher-for-sale:${voucherId}`;
/** The name the wallet gives a batch whose terms no longer held at commit time (see `termsStillHold`). */
const TERMS_CHANGED = "voucher_terms_changed";
const TERMS_GUARD = { column: "voucher_redemptions.merchant_id", name: TERMS_CHANGED };

const readForSale = (env: Env, voucherId: number) =>
  env.DB.prepare(
    `SELECT v.id, v.title, v.merchant_id, v.is_active, m.is_active AS merchant_active, v.count, v.sold_count + v.claimed_count AS issued, v.valid_from,
            v.valid_until, v.validity_days, v.redemptions_per_purchase,
            ${costSettingSql("voucher_cost")} AS cost
       FROM vouchers v JOIN merchants m ON m.id = v.merchant_id WHERE v.id = ?`,
  )
    .bind(voucherId)
    .first<VoucherForSale>();

/** The voucher's terms from the read cache, and whether they came from there (see `cachedGuess`). */
const termsFromCache = (env: Env, voucherId: number) => cachedGuess(env, forSaleKey(voucherId), FOR_SALE_TABLES, () => readForSale(env, voucherId));

/** The terms as D1 has them now, kept in the cache for the next buyers instead of the stale ones. */
const freshTerms = (env: Env, voucherId: number) => reloadCached(env, forSaleKey(voucherId), FOR_SALE_TABLES, () => readForSale(env, voucherId));

/**
 * Why this voucher cannot be sold at `now`, or null. The stock is judged only from a fresh read
 * (`stock`): a cached count is stale by design, and D1's stock guard refuses an oversell anyway.
 */
function notForSale(v: VoucherForSale | null, now: string, { stock }: { stock: boolean }): ApiError | null {
  if (!v) return notFound("Voucher");
  if (!v.is_active || !v.merchant_active) return new ApiError(400, ErrorCode.INACTIVE, "This voucher is not on sale.");
  if (v.valid_until && v.valid_until <= now) return new ApiError(400, ErrorCode.EXPIRED, "This voucher has expired.");
  if (v.valid_from && v.valid_from > now) return new ApiError(400, ErrorCode.INACTIVE, "This voucher is not on sale yet.");
  if (stock && v.count !== null && v.issued >= v.count) return soldOut();
  return null;
}

/** The terms a sale prices and answers with; a change of any of them means the sale must be priced again. */
const sameTerms = (a: VoucherForSale, b: VoucherForSale) =>
  a.title === b.title && a.cost === b.cost && a.valid_until === b.valid_until && a.validity_days === b.validity_days && a.redemptions_per_purchase === b.redemptions_per_purchase;

/**
 * The purchase row's merchant_id, as a subquery that is NULL unless, when the batch commits, the
 * voucher is still on sale (active, its merchant active, within its valid window) with exactly the
 * terms this sale was priced and answered with. merchant_id is NOT NULL, so a NULL aborts the whole
 * batch, debit included, and the wallet answers it as the refusal TERMS_CHANGED. The voucher's
 * other terms (value, conditions, shares) are copied onto the row inside the same batch by the
 * voucher_redemptions_freeze_terms trigger, so they are current by construction.
 */
function termsStillHold(v: VoucherForSale, now: string): { sql: string; params: unknown[] } {
  return {
    sql: `(SELECT v.merchant_id FROM vouchers v JOIN merchants m ON m.id = v.merchant_id
            WHERE v.id = ? AND v.is_active = 1 AND m.is_active = 1
              AND (v.valid_from IS NULL OR v.valid_from <= ?) AND (v.valid_until IS NULL OR v.valid_until > ?)
              AND v.title = ? AND v.valid_until IS ? AND v.validity_days = ? AND v.redemptions_per_purchase = ?
              AND ${costSettingSql("voucher_cost")} = ?)`,
    params: [v.id, now, now, v.title, v.valid_until, v.validity_days, v.redemptions_per_purchase, v.cost],
  };
}

/**
 * One D1 round trip when the voucher's terms are in the read cache: the wallet's batch. The debit,
 * the stock increment and the purchase row commit together or not at all. The stock guard
 * (sold_count + claimed_count <= count) refuses an oversell inside D1, and the purchase row's
 * merchant_id refuses terms that changed behind the cache (`termsStillHold`), each rolling the
 * money back with it. The cache is only a guess: nothing is refused from it alone. A refusal that
 * may come from cached terms is judged again on a fresh read, in the order a fresh read answers
 * (404, inactive, expired, not yet on sale, sold out, then the balance), and a voucher still on sale at changed
 * terms is sold once more at those, so the cost debited is always the cost answered. The purchase
 * row takes the voucher's terms as they are at that moment (trigger voucher_redemptions_freeze_terms):
 * later edits of the voucher apply to later sales only.
 */
export async function purchaseVoucher(env: Env, input: { userId: number; voucherId: number; idempotencyKey?: string }) {
  const now = nowIso();
  let { value: v, fromCache } = await termsFromCache(env, input.voucherId);
  if (fromCache && notForSale(v, now, { stock: false })) {
    // A cached "not on sale" is only a guess too: D1 decides.
    v = await freshTerms(env, input.voucherId);
    fromCache = false;
  }
  const refusal = notForSale(v, now, { stock: !fromCache });
  if (refusal) throw refusal;
  let terms = v!;
  const walletKey = `voucher-purchase:${input.idempotencyKey ?? uuid()}`;

  // At most two sales: the first at the terms found, a second at fresh terms if they had changed.
  for (let sale = 1; ; sale++) {
    const outcome = await sell(env, input.userId, terms, now, walletKey);
    if (!("refused" in outcome)) return purchaseAnswer(terms, outcome);
    const termsChanged = outcome.refused === TERMS_CHANGED;
    // Refused at terms just read from D1: the refusal itself is the answer, as before the cache.
    if (!fromCache && !termsChanged) throw outcome.error();
    const fresh = await freshTerms(env, input.voucherId);
    const why = notForSale(fresh, now, { stock: true });
    if (why) throw why;
    if (!termsChanged && sameTerms(fresh!, terms)) throw outcome.error();
    if (sale === 2) throw conflict("This voucher changed while it was being bought; please try again.");
    terms = fresh!;
    fromCache = false;
  }
}

type Sold = Bought | { refused: string; error: () => Error };

/** One sale at `v`'s terms (a purchase reference that happens to exist already is drawn again). */
async function sell(env: Env, userId: number, v: VoucherForSale, now: string, walletKey: string): Promise<Sold> {
  const byValidity = addDays(now, v.validity_days);
  const expiryDate = v.valid_until && v.valid_until < byValidity ? v.valid_until : byValidity;
  const guard = termsStillHold(v, now);
  for (let attempt = 0; attempt < REFERENCE_ATTEMPTS; attempt++) {
    const reference = referenceCode("VCH");
    const transactionId = v.cost > 0 ? uuid() : null;
    const statements: SqlStatement[] = [
      { sql: "UPDATE vouchers SET sold_count = sold_count + 1, updated_at = ? WHERE id = ?", params: [now, v.id] },
      {
        sql: `INSERT INTO voucher_redemptions (uuid, voucher_id, merchant_id, user_id, purchase_reference, purchase_status, is_gift_voucher,
                purchase_cost, transaction_id, total_redemptions, remaining_redemptions, purchased_at, expiry_date, updated_at)
              VALUES (?, ?, ${guard.sql}, ?, ?, 'purchased', 0, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
        params: [uuid(), v.id, ...guard.params, userId, reference, v.cost, transactionId, v.redemptions_per_purchase, v.redemptions_per_purchase, now, expiryDate, now],
      },
    ];
    // The answer, stored with an Idempotency-Key in the wallet's batch: the row id and the balance after are filled in there.
    const answer: StoredAnswer = {
      status: 201,
      body: purchaseAnswer(v, { redemptionId: 0, reference, expiryDate, cost: v.cost, balance: 0, transactionId }),
      fill: [{ path: "$.redemption_id", sql: "SELECT id FROM voucher_redemptions WHERE purchase_reference = ?", params: [reference] }, pointsAfter(userId, "$.remaining_balance")],
    };
    const outcome = await buy(env, userId, v, walletKey, transactionId, { reference, expiryDate }, statements, answer);
    if (outcome !== "reference-clash") return outcome;
  }
  throw new Error("no unique purchase reference after several attempts");
}

function purchaseAnswer(v: VoucherForSale, outcome: Bought) {
  return {
    message: "Voucher purchased successfully",
    voucher_id: v.id,
    voucher_title: v.title,
    purchase_cost: toPoints(outcome.cost),
    remaining_balance: toPoints(outcome.balance),
    redemption_id: outcome.redemptionId,
    purchase_reference: outcome.reference,
    expiry_date: outcome.expiryDate,
    transaction_id: outcome.transactionId,
  };
}

interface Bought {
  redemptionId: number;
  reference: string;
  expiryDate: string;
  cost: number;
  balance: number;
  transactionId: string | null;
}

/**
 * A voucher_cost of 0 moves no money (no ledger entry, no transaction); stock and row still commit
 * together. A refusal is handed back with the error it answers (`error`), for the caller to judge
 * against fresh terms first.
 */
async function buy(
  env: Env,
  userId: number,
  v: VoucherForSale,
  walletKey: string,
  transactionId: string | null,
  { reference, expiryDate }: { reference: string; expiryDate: string },
  statements: SqlStatement[],
  answer: StoredAnswer,
): Promise<Sold | "reference-clash"> {
  const description = `Voucher purchase: ${v.title}`;
  const result = await walletApply(env, {
    userId,
    amount: -v.cost,
    kind: "debit",
    idempotencyKey: walletKey,
    note: description,
    transaction: transactionId ? { id: transactionId, type: "VOUCHER_PURCHASE", description, reference } : undefined,
    statements,
    guard: TERMS_GUARD,
    answer,
  });
  if (!result.ok) {
    if (result.reason === "CONSTRAINT" && result.constraint === "unique") return "reference-clash";
    return {
      refused: result.reason === "CONSTRAINT" ? result.constraint : result.reason,
      error: () => walletRefused(result, v.cost, "voucher purchase", { voucher_stock: soldOut }),
    };
  }
  if (result.replayed) {
    // The same idempotency key already bought: answer with that purchase, not a second one.
    const prior = await env.DB.prepare(
      "SELECT id, purchase_reference, expiry_date, purchase_cost FROM voucher_redemptions WHERE transaction_id = ? AND user_id = ?",
    )
      .bind(result.transactionId, userId)
      .first<{ id: number; purchase_reference: string; expiry_date: string; purchase_cost: number }>();
    if (!prior) throw new Error("replayed voucher purchase without its redemption");
    return { redemptionId: prior.id, reference: prior.purchase_reference, expiryDate: prior.expiry_date, cost: prior.purchase_cost, balance: result.balance, transactionId: result.transactionId };
  }
  const row = result.results[1]![0] as { id: number };
  return { redemptionId: row.id, reference, expiryDate, cost: v.cost, balance: result.balance, transactionId };
}

interface OwnedPurchase {
  id: number;
  voucher_id: number;
  voucher_title: string;
  purchase_reference: string;
  purchase_status: string;
  is_gift_voucher: number;
  purchase_cost: number;
  transaction_id: string | null;
  total_redemptions: number;
  remaining_redemptions: number;
  expiry_date: string;
  share_count: number;
}

/** Another user's purchase is "not found", like one that does not exist. */
async function ownPurchase(env: Env, userId: number, redemptionId: number) {
  const row = await env.DB.prepare(
    `SELECT r.id, r.voucher_id, v.title AS voucher_title, r.purchase_reference, r.purchase_status, r.is_gift_voucher, r.purchase_cost,
            r.transaction_id, r.total_redemptions, r.remaining_redemptions, r.expiry_date,
            (SELECT COUNT(*) FROM gift_card_shares s WHERE s.source_redemption_id = r.id) AS share_count
       FROM voucher_redemptions r JOIN vouchers v ON v.id = r.voucher_id WHERE r.id = ? AND r.user_id = ?`,
  )
    .bind(redemptionId, userId)
    .first<OwnedPurchase>();
  if (!row) throw notFound("Voucher purchase");
  return row;
}

/** Why a purchase cannot be cancelled or refunded now, or null if it can (mirrors the D1 trigger). */
export function cancelRefusal(
  p: Pick<OwnedPurchase, "purchase_status" | "total_redemptions" | "remaining_redemptions" | "expiry_date" | "share_count">,
  now: string,
) {
  if (p.purchase_status === "cancelled" || p.purchase_status === "refunded")
    return conflict(`This purchase was already ${p.purchase_status}.`, ErrorCode.ALREADY_PROCESSED);
  if (p.purchase_status === "expired" || (p.purchase_status === "purchased" && p.expiry_date <= now))
    return new ApiError(400, ErrorCode.EXPIRED, "This purchase has expired and can no longer be cancelled or refunded.");
  if (p.purchase_status !== "purchased" || p.remaining_redemptions !== p.total_redemptions)
    return conflict("This voucher has already been redeemed (in part or in full), so it can no longer be cancelled or refunded.");
  if (p.share_count > 0) return conflict("This gift card has been shared, so it can no longer be cancelled or refunded.");
  return null;
}

function transition(p: OwnedPurchase, status: "cancelled" | "refunded", reason: string | undefined, now: string): SqlStatement[] {
  const statements: SqlStatement[] = [
    // A shared gift card stays with its recipients, so its purchase is final. Inside the batch, so a
    // share committed after the check above still stops it: the CHECK on remaining_redemptions fails.
    {
      sql: "UPDATE voucher_redemptions SET remaining_redemptions = -1 WHERE id = ? AND EXISTS (SELECT 1 FROM gift_card_shares WHERE source_redemption_id = ?)",
      params: [p.id, p.id],
    },
    // Matches the row by id alone: the trigger, not the WHERE clause, decides, so a refused change aborts the whole batch.
    {
      sql: "UPDATE voucher_redemptions SET purchase_status = ?, status_reason = ?, status_changed_at = ?, updated_at = ? WHERE id = ?",
      params: [status, reason ?? null, now, now, p.id],
    },
  ];
  // A claimed gift card took a unit of stock when it was claimed, and gives it back the same way.
  const counter = p.is_gift_voucher ? "claimed_count" : "sold_count";
  statements.push({ sql: `UPDATE vouchers SET ${counter} = ${counter} - 1, updated_at = ? WHERE id = ?`, params: [now, p.voucher_id] });
  return statements;
}

async function refusalAfterRace(env: Env, userId: number, redemptionId: number, now: string) {
  return cancelRefusal(await ownPurchase(env, userId, redemptionId), now) ?? conflict("This purchase changed meanwhile; please try again.");
}

/** Cancel: the stock comes back, the points do not (as the spec's response shows). */
export async function cancelPurchase(env: Env, input: { userId: number; redemptionId: number; reason?: string }) {
  const now = nowIso();
  const p = await ownPurchase(env, input.userId, input.redemptionId);
  const refusal = cancelRefusal(p, now);
  if (refusal) throw refusal;
  try {
    await env.DB.batch(transition(p, "cancelled", input.reason, now).map((s) => env.DB.prepare(s.sql).bind(...s.params)));
  } catch (error) {
    const message = String((error as Error)?.message ?? error);
    if (message.includes(CANCEL_GUARD) || message.includes(SHARED_GUARD)) throw await refusalAfterRace(env, input.userId, p.id, now);
    throw error;
  }
  return {
    message: "Voucher purchase cancelled successfully",
    voucher_title: p.voucher_title,
    purchase_reference: p.purchase_reference,
    purchase_status: "cancelled" as const,
    transaction_id: p.transaction_id,
  };
}

/**
 * Refund: the stock and exactly the points paid come back, in one batch with the status change.
 * The wallet key `voucher-refund:<id>` credits at most once; the trigger refuses a refund after a
 * cancel or a redemption.
 */
export async function refundPurchase(env: Env, input: { userId: number; redemptionId: number; reason?: string }) {
  const now = nowIso();
  const p = await ownPurchase(env, input.userId, input.redemptionId);
  const refusal = cancelRefusal(p, now);
  if (refusal) throw refusal;
  if (p.is_gift_voucher || p.purchase_cost <= 0)
    throw badRequest("Nothing was paid for this voucher (a claimed gift card or a free purchase), so there is nothing to refund; cancel it instead.");
  const statements = transition(p, "refunded", input.reason, now);
  if (p.transaction_id)
    statements.push({ sql: "UPDATE transactions SET status = 'REFUNDED', updated_at = ? WHERE id = ? AND user_id = ?", params: [now, p.transaction_id, input.userId] });
  const result = await walletApply(env, {
    userId: input.userId,
    amount: p.purchase_cost,
    kind: "refund",
    idempotencyKey: `voucher-refund:${p.id}`,
    note: `Voucher refund: ${p.voucher_title}`,
    transaction: { type: "VOUCHER_REFUND", description: `Voucher refund: ${p.voucher_title}`, reference: p.purchase_reference },
    statements,
  });
  if (!result.ok) {
    if (result.reason === "CONSTRAINT" && (result.constraint === CANCEL_GUARD || result.constraint === SHARED_GUARD)) throw await refusalAfterRace(env, input.userId, p.id, now);
    throw new Error(`voucher refund refused: ${result.reason}`);
  }
  if (result.replayed) throw conflict("This purchase was already refunded.", ErrorCode.ALREADY_PROCESSED);
  return {
    message: "Voucher purchase refunded successfully",
    voucher_title: p.voucher_title,
    purchase_reference: p.purchase_reference,
    refund_amount: toPoints(p.purchase_cost),
    remaining_balance: toPoints(result.balance),
    purchase_status: "refunded" as const,
    transaction_id: result.transactionId,
  };
}
