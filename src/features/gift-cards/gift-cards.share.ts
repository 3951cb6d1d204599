import type { Env } from "../../env";
import { ApiError, ErrorCode, badRequest, notFound, validationError } from "../../lib/errors";
import { referenceCode } from "../../lib/ids";
import { normalizePhone } from "../../lib/phone";
import { nowIso } from "../../lib/time";
import { publicBaseUrl } from "../../lib/public-url";
import { renderUserText } from "../../lib/safe-text";
import { takeSenderBudget } from "../notifications/message-budget";
import { notifyMany } from "../notifications/notify";

export const MAX_SHARE_NUMBERS = 20;

interface Candidate {
  id: number;
  voucher_id: number;
  purchase_status: string;
  expiry_date: string;
  is_gift_voucher: number;
  /** Frozen on the purchase: how many people it may be shared to (0: not shareable). */
  max_shares: number;
  shares_used: number;
  title: string;
  business_name: string;
  sharer_name: string;
  /** The voucher's stock and what is issued of it (purchases + claimed copies). */
  count: number | null;
  issued: number;
}

/** Raised by the trigger gift_card_shares_cap when a share would pass the purchase's cap. */
const SHARE_CAP_GUARD = "gift_share_cap";

/**
 * `{id}` is the caller's purchase (redemption) id. The spec's example passes a voucher id, so a
 * voucher id is accepted too when the caller holds exactly one active gift-card purchase of it.
 * The redemption id wins when both readings match one of the caller's rows.
 */
async function findPurchase(env: Pick<Env, "DB">, userId: number, id: number, now: string): Promise<Candidate> {
  const { results } = await env.DB.prepare(
    `SELECT r.id, r.voucher_id, r.purchase_status, r.expiry_date, r.is_gift_voucher, r.max_shares,
            (SELECT COUNT(*) FROM gift_card_shares s WHERE s.source_redemption_id = r.id) AS shares_used,
            v.title, m.business_name, TRIM(u.first_name || ' ' || u.last_name) AS sharer_name,
            v.count, v.sold_count + v.claimed_count AS issued
       FROM voucher_redemptions r JOIN vouchers v ON v.id = r.voucher_id JOIN merchants m ON m.id = r.merchant_id
       JOIN users u ON u.id = r.user_id
      WHERE r.user_id = ?1 AND (r.id = ?2 OR r.voucher_id = ?2)
      ORDER BY r.id LIMIT 50`,
  )
    .bind(userId, id)
    .all<Candidate>();
  const byId = results.find((r) => r.id === id);
  if (byId) return byId;
  const ofVoucher = results.filter((r) => r.voucher_id === id);
  const shareable = ofVoucher.filter((r) => isShareable(r, now));
  if (shareable.length === 1) return shareable[0]!;
  if (shareable.length > 1)
    throw badRequest("You have several purchases of this gift card. Share one by its purchase id (redemption_id).", {
      redemption_ids: shareable.map((r) => r.id),
    });
  if (ofVoucher[0]) return ofVoucher[0];
  throw notFound("Gift card purchase");
}

const isShareable = (r: Candidate, now: string) => r.max_shares > 0 && !r.is_gift_voucher && r.purchase_status === "purchased" && r.expiry_date > now;

function assertShareable(r: Candidate, now: string) {
  if (r.is_gift_voucher) throw badRequest("A gift card you received cannot be shared again.");
  if (r.max_shares <= 0) throw badRequest("Only gift-card vouchers can be shared.");
  if (r.purchase_status !== "purchased")
    throw new ApiError(400, ErrorCode.NOT_REDEEMABLE, `This purchase is ${r.purchase_status} and can no longer be shared.`);
  if (r.expiry_date <= now) throw new ApiError(400, ErrorCode.EXPIRED, "This gift card has expired and can no longer be shared.");
  // A share does not reserve stock (claims take it, first come); with none left, nobody could claim.
  if (r.count !== null && r.issued >= r.count)
    throw new ApiError(400, ErrorCode.SOLD_OUT, "This voucher's stock is used up, so a shared copy could not be claimed.");
}

/** The purchase's cap, frozen when it was bought (the voucher's max_shares_per_purchase then). */
function shareLimitReached(r: Pick<Candidate, "max_shares" | "shares_used">, asked: number) {
  const remaining = Math.max(r.max_shares - r.shares_used, 0);
  return new ApiError(
    409,
    ErrorCode.SHARE_LIMIT_REACHED,
    remaining === 0
      ? `This purchase has already been shared to its limit of ${r.max_shares} people.`
      : `This purchase can be shared to ${remaining} more ${remaining === 1 ? "person" : "people"} (limit ${r.max_shares}); you asked for ${asked}.`,
    { max_shares: r.max_shares, shares_used: r.shares_used, shares_remaining: remaining },
  );
}

/** One row per number, in one batch: the cap trigger refuses the whole batch if it would pass the cap. */
async function insertShares(env: Pick<Env, "DB">, purchase: Candidate, userId: number, phones: string[], now: string) {
  try {
    const inserted = await env.DB.batch<{ id: number; claim_reference: string; recipient_phone: string }>(
      phones.map((phone) =>
        env.DB.prepare(
          `INSERT INTO gift_card_shares (source_redemption_id, voucher_id, sharer_id, recipient_phone, claim_reference, shared_via, created_at)
           VALUES (?, ?, ?, ?, ?, 'whatsapp', ?) RETURNING id, claim_reference, recipient_phone`,
        ).bind(purchase.id, purchase.voucher_id, userId, phone, referenceCode("GFT"), now),
      ),
    );
    return inserted.map((r) => r.results[0]!);
  } catch (error) {
    if (!String((error as Error)?.message).includes(SHARE_CAP_GUARD)) throw error;
    // Another request shared this purchase meanwhile: answer with the counts as they are now.
    const used = await env.DB.prepare("SELECT COUNT(*) AS n FROM gift_card_shares WHERE source_redemption_id = ?").bind(purchase.id).first<{ n: number }>();
    throw shareLimitReached({ max_shares: purchase.max_shares, shares_used: used?.n ?? purchase.max_shares }, phones.length);
  }
}

export async function shareGiftCard(
  env: Env,
  input: { userId: number; id: number; phoneNumbers: string[]; defaultCountryCode?: string },
) {
  const now = nowIso();
  const purchase = await findPurchase(env, input.userId, input.id, now);
  assertShareable(purchase, now);

  const valid: string[] = [];
  const failed: string[] = [];
  for (const raw of input.phoneNumbers) {
    const phone = normalizePhone(raw, input.defaultCountryCode);
    if (!phone) failed.push(raw);
    else if (!valid.includes(phone)) valid.push(phone);
  }
  if (valid.length === 0)
    throw validationError("None of the phone numbers is valid. Use the international form, like +919876543210.", { failed_numbers: failed });

  if (purchase.shares_used + valid.length > purchase.max_shares) throw shareLimitReached(purchase, valid.length);
  // Each number is one message to someone who did not ask: counted against the sharer's allowance.
  await takeSenderBudget(env, input.userId, valid.length);
  const shares = await insertShares(env, purchase, input.userId, valid, now);

  const base = publicBaseUrl(env);
  // Names and titles are the users' own text: no links or control characters reach the message.
  const from = renderUserText(purchase.sharer_name, 60) || "A friend";
  const what = `${renderUserText(purchase.title, 80)} at ${renderUserText(purchase.business_name, 80)}`;
  // One notification per share through the notifications queue; the dedupe key makes a retried
  // request (or a replay) send nothing twice.
  const sent = await notifyMany(
    env,
    shares.map((share) => ({
      channel: "whatsapp" as const,
      recipient: share.recipient_phone,
      // Not transactional: the recipient never asked, so the message carries an opt-out.
      category: "system" as const,
      title: "You received a gift card",
      message:
        `${from} sent you a gift card: ${what}. ` +
        `Claim it with reference ${share.claim_reference} at ${base}/gift-cards/claim?reference=${share.claim_reference}`,
      userId: input.userId,
      dedupeKey: `gift-share:${share.id}`,
    })),
  );
  await env.DB.batch(
    shares.map((share, i) => env.DB.prepare("UPDATE gift_card_shares SET notification_id = ? WHERE id = ?").bind(sent[i]!.id, share.id)),
  );

  return {
    message: `Gift card shared successfully to ${shares.length} contacts`,
    success_count: shares.length,
    failed_numbers: failed,
    shares_created: shares.map((s) => ({ phone_number: s.recipient_phone, claim_reference: s.claim_reference, share_id: s.id })),
    max_shares: purchase.max_shares,
    shares_remaining: Math.max(purchase.max_shares - purchase.shares_used - shares.length, 0),
    note: "Each recipient can claim and use the gift card independently",
  };
}
