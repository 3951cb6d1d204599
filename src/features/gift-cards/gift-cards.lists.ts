import type { Env } from "../../env";
import type { PurchaseStatus } from "../../db/schema";
import { canRedeem } from "../vouchers/redeemable";
import { type VoucherValueRow, voucherTypeName, voucherValueColumns, voucherValueOfRow } from "../vouchers/voucher-value";

/** Lists are capped (the spec returns bare arrays): newest first. */
export const LIST_CAP = 200;

interface GiftCardRow extends VoucherValueRow {
  id: number;
  purchased_at: string;
  expiry_date: string;
  purchase_reference: string;
  purchase_status: PurchaseStatus;
  remaining_redemptions: number;
  title: string;
  business_name: string;
  merchant_active: number;
}

export async function myGiftCards(env: Pick<Env, "DB">, userId: number) {
  const { results } = await env.DB.prepare(
    `SELECT r.id, r.purchased_at, r.expiry_date, r.purchase_reference, r.purchase_status, r.remaining_redemptions,
            v.title, ${voucherValueColumns("r")}, m.business_name, m.is_active AS merchant_active
       FROM voucher_redemptions r JOIN vouchers v ON v.id = r.voucher_id JOIN merchants m ON m.id = r.merchant_id
      WHERE r.user_id = ? AND r.is_gift_voucher = 1
      ORDER BY r.purchased_at DESC, r.id DESC LIMIT ${LIST_CAP}`,
  )
    .bind(userId)
    .all<GiftCardRow>();
  const giftCards = results.map((r) => ({
    id: r.id,
    title: r.title,
    merchant: r.business_name,
    voucher_type: voucherTypeName(r.voucher_type),
    voucher_value: voucherValueOfRow(r),
    purchased_at: r.purchased_at,
    expiry_date: r.expiry_date,
    purchase_reference: r.purchase_reference,
    purchase_status: r.purchase_status,
    can_redeem: canRedeem(r),
    remaining_redemptions: r.remaining_redemptions,
  }));
  return { gift_cards: giftCards, total_count: giftCards.length, message: "Your claimed gift cards" };
}

/** recipient_name comes from the sharer's synced contacts, so it follows later renames. */
export async function sharedByMe(env: Pick<Env, "DB">, userId: number) {
  const { results } = await env.DB.prepare(
    `SELECT s.id, s.recipient_phone, c.name AS recipient_name, v.title, s.shared_via, s.created_at, s.is_claimed, s.claimed_at, s.claim_reference
       FROM gift_card_shares s JOIN vouchers v ON v.id = s.voucher_id
       LEFT JOIN whatsapp_contacts c ON c.user_id = s.sharer_id AND c.phone_number = s.recipient_phone
      WHERE s.sharer_id = ?
      ORDER BY s.created_at DESC, s.id DESC LIMIT ${LIST_CAP}`,
  )
    .bind(userId)
    .all<Record<string, any>>();
  const shares = results.map((s) => ({
    share_id: s.id as number,
    recipient_phone: s.recipient_phone as string,
    recipient_name: (s.recipient_name as string | null) || null,
    voucher_title: s.title as string,
    shared_via: s.shared_via as string,
    shared_at: s.created_at as string,
    is_claimed: Boolean(s.is_claimed),
    claimed_at: (s.claimed_at as string | null) ?? null,
    claim_reference: s.claim_reference as string,
  }));
  return { shares, total_count: shares.length, message: "Gift cards shared by you" };
}
