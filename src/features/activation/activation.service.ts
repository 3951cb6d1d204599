import type { TransactionStatus } from "../../db/schema";
import type { Env } from "../../env";
import { conflict, notFound } from "../../lib/errors";
import { cachedGuess, reloadCached } from "../../lib/read-cache";
import { referenceCode, uuid } from "../../lib/ids";
import { formatAmount } from "../../lib/money";
import { addDays, nowIso } from "../../lib/time";
import { publishPerUser, publishUserEvent } from "../events/publish";
import { notifyUser } from "../notifications/notify";
import { insufficientBalance, walletApply, type WalletResult } from "../wallet/wallet.service";
import { queueCancels, requestPartnerCancel } from "./partner-cancel";
import { cacheTransaction, cacheTransactions, readCachedTransaction } from "./transaction-cache";

export interface ActivationRow {
  id: string;
  user_id: number;
  status: TransactionStatus;
  amount: number;
  offer_id: number;
  created_at: string;
  updated_at: string;
  reference: string;
  offer_name: string;
  duration_days: number;
  partner: string;
  sandbox_outcome: "succeed" | "fail";
}

const ACTIVATIONS_FROM = `SELECT t.id, t.user_id, t.status, t.amount, t.offer_id, t.created_at, t.updated_at, s.reference,
              o.name AS offer_name, o.duration_days, o.partner, o.sandbox_outcome
         FROM transactions t JOIN subscriptions s ON s.transaction_id = t.id JOIN offers o ON o.id = s.offer_id`;
const ACTIVATION_SQL = `${ACTIVATIONS_FROM} WHERE t.id = ? AND t.type = 'ACTIVATION'`;

export async function loadActivation(db: D1Database, transactionId: string): Promise<ActivationRow | null> {
  return db.prepare(ACTIVATION_SQL).bind(transactionId).first<ActivationRow>();
}

/**
 * The consumer's first read of the activations whose messages arrived, by id: the outbox rows that
 * stood for the messages are deleted in the same round trip, so the requests that queued them did
 * not have to. A redelivery deletes nothing.
 */
export async function receiveActivations(db: D1Database, transactionIds: string[]): Promise<Map<string, ActivationRow>> {
  const ids = JSON.stringify(transactionIds);
  const [, rows] = await db.batch([
    db.prepare("DELETE FROM activation_outbox WHERE transaction_id IN (SELECT value FROM json_each(?))").bind(ids),
    db.prepare(`${ACTIVATIONS_FROM} WHERE t.id IN (SELECT value FROM json_each(?)) AND t.type = 'ACTIVATION'`).bind(ids),
  ]);
  return new Map((rows!.results as ActivationRow[]).map((row) => [row.id, row]));
}

interface OfferTerms {
  id: number;
  name: string;
  price: number;
  is_active: number;
}

const offerKey = (offerId: number) => `offer-for-activation:${offerId}`;
/** The name the wallet gives a batch whose offer no longer had the terms it was priced with. */
const OFFER_CHANGED = "offer_terms_changed";

/** Raw SQL: a drizzle client costs more CPU to build than this one read. */
const readOffer = (db: D1Database, offerId: number) =>
  db.prepare("SELECT id, name, price, is_active FROM offers WHERE id = ?").bind(offerId).first<OfferTerms>();

/** The offer's terms from the read cache, and whether they came from there (see `cachedGuess`). */
const offerFromCache = (env: Env, offerId: number) => cachedGuess(env, offerKey(offerId), ["offers"], () => readOffer(env.DB, offerId));

/** The offer as D1 has it now, kept in the cache for the next requests instead of the stale one. */
const freshOffer = (env: Env, offerId: number) => reloadCached(env, offerKey(offerId), ["offers"], () => readOffer(env.DB, offerId));

/** An unknown and an inactive offer are both "not found", as the catalogue shows neither. */
function activeOrNotFound(offer: OfferTerms | null): OfferTerms {
  if (!offer?.is_active) throw notFound("Offer");
  return offer;
}

/**
 * The spec's sequence: debit, transaction (PENDING), pending subscription and an outbox row in one
 * wallet batch, then the Redis hash (best effort) and the queue message, side by side: both need
 * only the committed batch, and the hash's compare-and-set keeps a settled status the consumer
 * wrote first. The hash is written before the answer, so the status is in Redis as soon as the
 * client has its 202. The outbox row is removed by the consumer when the message arrives; if the
 * queue refuses the message the client still gets its 202 (it has paid and the activation is
 * recorded) and the cron relays the row (`relayActivationOutbox`). A repeated wallet key
 * replays: the message is sent again while the activation is still pending (the consumer is
 * idempotent), so a client retrying after a lost answer cannot leave an activation stranded.
 *
 * One D1 round trip when the offer is in the read cache: the wallet's batch, whose subscription row
 * takes its offer_id from a subquery that is NULL (and so, offer_id being NOT NULL, aborts the batch
 * with its debit) unless the offer is still active at the price and name used. The cache is only a
 * guess: a cached "not found" is read again, and a refusal that may come from a stale offer (changed,
 * or a balance short of a price that may have changed) pays one fresh read: 404 if the offer is gone,
 * one more attempt at its new price, else the refusal. The price debited is the offer's price when
 * the batch committed.
 */
export async function requestActivation(env: Env, input: { userId: number; offerId: number; idempotencyKey?: string }) {
  let { value: offer, fromCache } = await offerFromCache(env, input.offerId);
  if (fromCache && !offer?.is_active) {
    offer = await freshOffer(env, input.offerId);
    fromCache = false;
  }
  let terms = activeOrNotFound(offer);
  const transactionId = uuid();
  const now = nowIso();
  // At most two attempts: the first at the terms found, a second at fresh terms if they had changed.
  for (let attempt = 1; ; attempt++) {
    const result = await debitForActivation(env, input, terms, transactionId, now);
    if (result.ok) return afterActivationDebit(env, input.userId, terms, result, now);
    if (result.reason === "CONSTRAINT" && result.constraint !== OFFER_CHANGED) throw new Error(`activation debit refused: ${result.constraint}`);
    const short = result.reason === "INSUFFICIENT_FUNDS" ? insufficientBalance(result.balance, terms.price) : null;
    // Short of a price just read from D1: that is the answer.
    if (short && !fromCache) throw short;
    const fresh = activeOrNotFound(await freshOffer(env, input.offerId));
    if (short && fresh.price === terms.price && fresh.name === terms.name) throw short;
    if (attempt === 2) throw conflict("This offer changed while it was being activated; please try again.");
    terms = fresh;
    fromCache = false;
  }
}

/** The wallet's one batch at `offer`'s terms: debit, guarded subscription (with its PENDING transaction and outbox row) and stored answer. */
function debitForActivation(env: Env, input: { userId: number; idempotencyKey?: string }, offer: OfferTerms, transactionId: string, now: string) {
  return walletApply(env, {
    userId: input.userId,
    amount: -offer.price,
    kind: "debit",
    idempotencyKey: `activation:${input.idempotencyKey ?? transactionId}`,
    note: `Activation of offer ${offer.id}`,
    // The transaction's created_at and updated_at, which the Redis hash repeats.
    at: now,
    // The pending subscription writes the PENDING transaction and the outbox row itself (trigger
    // subscriptions_pending_activation); the ledger entry names the transaction.
    transactionId,
    statements: [
      {
        sql: `INSERT INTO subscriptions (user_id, offer_id, transaction_id, reference, status, created_at, updated_at)
              VALUES (?, (SELECT id FROM offers WHERE id = ? AND is_active = 1 AND price = ? AND name = ?), ?, ?, 'pending', ?, ?)`,
        params: [input.userId, offer.id, offer.price, offer.name, transactionId, referenceCode("SUB", 10), now, now],
      },
    ],
    guard: { column: "subscriptions.offer_id", name: OFFER_CHANGED },
    // Stored with an Idempotency-Key in the same batch: what the route answers.
    answer: { status: 202, body: { transaction_id: transactionId, status: "PENDING" } },
  });
}

/** After the batch committed (or replayed an earlier one): the Redis hash, the queue message and the live event. */
async function afterActivationDebit(env: Env, userId: number, offer: OfferTerms, result: Extract<WalletResult, { ok: true }>, now: string) {
  const id = result.transactionId!;
  if (result.replayed) {
    const existing = await loadActivation(env.DB, id);
    if (!existing) throw new Error("replayed activation without a transaction");
    if (existing.status !== "PENDING") return { transaction_id: id, status: existing.status };
    await Promise.all([cacheTransaction(env, existing), queueActivations(env, [id])]);
  } else {
    await Promise.all([
      cacheTransaction(env, { id, user_id: userId, status: "PENDING", amount: offer.price, offer_id: offer.id, created_at: now, updated_at: now }),
      queueActivations(env, [id]),
    ]);
    publishUserEvent(env, userId, { type: "activation.status", transaction_id: id, status: "PENDING", updated_at: now });
  }
  return { transaction_id: id, status: "PENDING" as const };
}

/** An outbox row this old belongs to a request that could not queue its message (not one still running). */
export const OUTBOX_RELAY_AFTER_SECONDS = 60;

/**
 * Sends the activations' queue messages; a refused send is logged and answers false. The outbox
 * rows stay: the consumer removes a row when its message arrives (`receiveActivations`), and the
 * cron relays the rows of messages that never did.
 */
async function queueActivations(env: Env, ids: string[]): Promise<boolean> {
  if (ids.length === 0) return true;
  try {
    if (ids.length === 1) await env.ACTIVATIONS.send({ type: "activation.requested", transaction_id: ids[0]! });
    else await env.ACTIVATIONS.sendBatch(ids.map((id) => ({ body: { type: "activation.requested" as const, transaction_id: id } })));
    return true;
  } catch (error) {
    console.error(JSON.stringify({ level: "error", msg: "activation not queued; the outbox relay will send it", transaction_ids: ids, error: String(error) }));
    return false;
  }
}

/** The cron's relay: sends the messages and, once the queue accepted them, deletes the rows. Returns how many were sent. */
async function relayActivations(env: Env, ids: string[]): Promise<number> {
  if (ids.length === 0 || !(await queueActivations(env, ids))) return 0;
  // A failure here only means a second message later: the consumer is idempotent.
  await env.DB.prepare("DELETE FROM activation_outbox WHERE transaction_id IN (SELECT value FROM json_each(?))").bind(JSON.stringify(ids)).run();
  return ids.length;
}

/**
 * Cron: relays the outbox rows of activations whose request could not queue them. Rows of
 * activations that are no longer pending are only deleted. Two runs at once may both send one
 * message; the consumer acts on it once.
 */
export async function relayActivationOutbox(env: Env, at: Date) {
  const before = new Date(at.getTime() - OUTBOX_RELAY_AFTER_SECONDS * 1000).toISOString();
  const { results } = await env.DB.prepare(
    "SELECT o.transaction_id AS id, t.status FROM activation_outbox o JOIN transactions t ON t.id = o.transaction_id WHERE o.created_at < ? ORDER BY o.created_at LIMIT 100",
  )
    .bind(before)
    .all<{ id: string; status: string }>();
  const settled = results.filter((r) => r.status !== "PENDING").map((r) => r.id);
  if (settled.length > 0)
    await env.DB.prepare("DELETE FROM activation_outbox WHERE transaction_id IN (SELECT value FROM json_each(?))").bind(JSON.stringify(settled)).run();
  const relayed = await relayActivations(env, results.filter((r) => r.status === "PENDING").map((r) => r.id));
  return { relayed, dropped: settled.length };
}

/**
 * `cancelAtPartner`: we give up on our side (retries exhausted, no answer for a day) while the
 * partner may have provisioned it, so the partner is told to cancel. Not for a partner refusal.
 */
export type ActivationOutcome = { status: "SUCCESS" } | { status: "FAILED"; reason: string; cancelAtPartner?: boolean };
export type CompletionResult = { applied: boolean; status: string; cancelRequested?: boolean };

/** A success that arrives after we failed and refunded: the partner is told to cancel it. */
async function lateSuccess(env: Env, transactionId: string, status: string): Promise<CompletionResult> {
  if (status !== "FAILED") return { applied: false, status };
  return { applied: false, status, cancelRequested: await requestPartnerCancel(env, transactionId) };
}

/**
 * Moves a PENDING activation to its final state, once. The consumer, the dead-letter consumer and
 * the partner callback all come here; the conditional updates (WHERE status = 'PENDING') decide
 * which of two racing deliveries acts. D1 first, then the whole hash (compare-and-set on
 * updated_at), then the owner's live sockets (only by the delivery that acted, so each change is
 * announced once). `loaded`: the row as the caller read it (the consumer), instead of reading it again.
 */
export async function completeActivation(env: Env, transactionId: string, outcome: ActivationOutcome, loaded?: ActivationRow): Promise<CompletionResult> {
  // A caller that has just read the row hands it over; it may be stale by then, which the guarded writes below decide.
  const tx = loaded ?? (await loadActivation(env.DB, transactionId));
  if (!tx) throw notFound("Transaction");
  if (tx.status !== "PENDING") return outcome.status === "SUCCESS" ? lateSuccess(env, transactionId, tx.status) : { applied: false, status: tx.status };
  const now = nowIso();

  if (outcome.status === "SUCCESS") return (await completeSuccesses(env, [tx]))[0]!;

  // The refund and the status change commit together. The first statement writes an invalid
  // subscription status (refused by its named CHECK) when the activation is no longer pending,
  // which aborts the whole batch, refund included: a refund can never follow a success.
  const refund = await walletApply(env, {
    userId: tx.user_id,
    amount: tx.amount,
    kind: "refund",
    idempotencyKey: `activation-refund:${transactionId}`,
    transactionId,
    note: `Refund of failed activation ${transactionId}`,
    statements: [
      {
        sql: "UPDATE subscriptions SET status = CASE WHEN (SELECT status FROM transactions WHERE id = ?) = 'PENDING' THEN 'failed' ELSE 'not-pending' END, updated_at = ? WHERE transaction_id = ?",
        params: [transactionId, now, transactionId],
      },
      {
        sql: "UPDATE transactions SET status = 'FAILED', failure_reason = ?, updated_at = ?, partner_cancel_requested_at = ? WHERE id = ? AND status = 'PENDING'",
        params: [outcome.reason.slice(0, 500), now, outcome.cancelAtPartner ? now : null, transactionId],
      },
    ],
  });
  if (!refund.ok && !(refund.reason === "CONSTRAINT" && refund.constraint === "subscription_status_valid"))
    throw new Error(`activation refund refused: ${refund.reason}`);
  if (!refund.ok || refund.replayed) return { applied: false, status: (await loadActivation(env.DB, transactionId))!.status };

  await cacheTransaction(env, { ...tx, status: "FAILED", updated_at: now });
  if (outcome.cancelAtPartner) await queueCancels(env, [transactionId]);
  publishUserEvent(env, tx.user_id, { type: "activation.status", transaction_id: transactionId, status: "FAILED", updated_at: now });
  try {
    await notifyUser(env, tx.user_id, {
      title: "Offer activation failed",
      message: `We could not activate "${tx.offer_name}": ${outcome.reason} ${formatAmount(tx.amount)} has been returned to your balance.`,
      category: "transactional",
      priority: "high",
      dedupeKey: `activation-failed:${transactionId}`,
    });
  } catch (error) {
    // The refund is committed; a notice that could not be queued must not undo or repeat it.
    console.error(JSON.stringify({ level: "error", msg: "activation failure notice not queued", transaction_id: transactionId, error: String(error) }));
  }
  return { applied: true, status: "FAILED" };
}

/**
 * The SUCCESS of these PENDING activations (as just read), as `completeActivation` does it for one,
 * with one D1 batch for all: each activation's own guarded UPDATEs, whose changes are read from
 * its own positions (a batch is one D1 transaction: a refused statement undoes them all, and the
 * error reaches the caller with nothing written). Then one Redis pipeline for the hashes of those
 * this batch moved, and one live-status publish per user; one whose guard changed nothing had
 * been settled meanwhile and goes the `lateSuccess` way. Each id at most once.
 */
export async function completeSuccesses(env: Env, txs: ActivationRow[]): Promise<CompletionResult[]> {
  if (txs.length === 0) return [];
  const now = nowIso();
  const results = await env.DB.batch(
    txs.flatMap((tx) => [
      env.DB.prepare("UPDATE subscriptions SET status = 'active', starts_at = ?, ends_at = ?, updated_at = ? WHERE transaction_id = ? AND status = 'pending'").bind(
        now,
        addDays(now, tx.duration_days),
        now,
        tx.id,
      ),
      env.DB.prepare("UPDATE transactions SET status = 'SUCCESS', updated_at = ? WHERE id = ? AND status = 'PENDING'").bind(now, tx.id),
    ]),
  );
  // Two statements per activation, the transaction's guarded UPDATE second.
  const moved = txs.map((_, i) => results[2 * i + 1]!.meta.changes === 1);
  const applied = txs.filter((_, i) => moved[i]);
  await cacheTransactions(env, applied.map((tx) => ({ ...tx, status: "SUCCESS", updated_at: now })));
  publishPerUser(env, applied.map((tx) => ({ userId: tx.user_id, event: { type: "activation.status", transaction_id: tx.id, status: "SUCCESS", updated_at: now } })));
  return Promise.all(
    txs.map(async (tx, i): Promise<CompletionResult> =>
      moved[i] ? { applied: true, status: "SUCCESS" } : lateSuccess(env, tx.id, (await loadActivation(env.DB, tx.id))!.status),
    ),
  );
}

/**
 * HGETALL first; on a miss or a Redis error, the caller's own D1 row. After a miss the hash is
 * rebuilt (compare-and-set); after an error it is not, so a hanging Redis costs one timeout.
 */
export async function activationStatus(env: Env, userId: number, transactionId: string) {
  const { hash, reachable } = await readCachedTransaction(env, transactionId);
  if (hash) {
    if (hash.user_id !== String(userId)) throw notFound("Transaction");
    return {
      transaction_id: transactionId,
      status: hash.status!,
      created_at: hash.created_at!,
      updated_at: hash.updated_at ?? hash.created_at!,
      amount: hash.amount!,
      offer_id: hash.offer_id ? Number(hash.offer_id) : null,
    };
  }
  const row = await env.DB.prepare("SELECT id, user_id, status, amount, offer_id, created_at, updated_at FROM transactions WHERE id = ? AND user_id = ?")
    .bind(transactionId, userId)
    .first<{ id: string; user_id: number; status: string; amount: number; offer_id: number | null; created_at: string; updated_at: string }>();
  if (!row) throw notFound("Transaction");
  if (reachable) await cacheTransaction(env, row);
  return {
    transaction_id: row.id,
    status: row.status,
    created_at: row.created_at,
    updated_at: row.updated_at,
    amount: formatAmount(row.amount),
    offer_id: row.offer_id,
  };
}
