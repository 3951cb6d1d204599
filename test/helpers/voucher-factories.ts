import { env } from "cloudflare:workers";
import { referenceCode } from "../../src/lib/ids";
import { createUser, unique, type TestUser } from "./factories";

/** Test data inserted directly: the voucher marketplace's own endpoints have their own tests. */
export interface InsertedMerchant {
  user: TestUser;
  merchantId: number;
  businessName: string;
}

export async function insertMerchant(options: { balance?: number; active?: boolean; phone?: string } = {}): Promise<InsertedMerchant> {
  const user = await createUser({ role: "merchant", balance: options.balance, phone: options.phone });
  const businessName = unique("Shop ");
  const now = new Date().toISOString();
  const row = await env.DB.prepare(
    "INSERT INTO merchants (user_id, business_name, city, state, is_active, created_at, updated_at) VALUES (?, ?, 'Mumbai', 'Maharashtra', ?, ?, ?) RETURNING id",
  )
    .bind(user.id, businessName, options.active === false ? 0 : 1, now, now)
    .first<{ id: number }>();
  return { user, merchantId: row!.id, businessName };
}

export interface InsertedVoucher {
  id: number;
  uuid: string;
  title: string;
  merchantId: number;
}

export async function insertVoucher(
  merchant: InsertedMerchant,
  options: { giftCard?: boolean; redemptionsPerPurchase?: number; active?: boolean; title?: string; count?: number | null; maxShares?: number } = {},
): Promise<InsertedVoucher> {
  const now = new Date().toISOString();
  const uuid = crypto.randomUUID();
  const title = options.title ?? unique("Free Coffee ");
  const row = await env.DB.prepare(
    `INSERT INTO vouchers (uuid, merchant_id, title, voucher_type, product_name, product_min_bill, redemptions_per_purchase, is_gift_card, is_active,
       count, max_shares_per_purchase, created_at, updated_at)
     VALUES (?, ?, ?, 3, 'Coffee', 0, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
  )
    .bind(
      uuid,
      merchant.merchantId,
      title,
      options.redemptionsPerPurchase ?? 1,
      options.giftCard ? 1 : 0,
      options.active === false ? 0 : 1,
      options.count ?? null,
      options.maxShares ?? 5,
      now,
      now,
    )
    .first<{ id: number }>();
  return { id: row!.id, uuid, title, merchantId: merchant.merchantId };
}

export interface InsertedPurchase {
  id: number;
  uuid: string;
  reference: string;
}

export async function insertPurchase(
  user: { id: number },
  voucher: InsertedVoucher,
  options: { remaining?: number; total?: number; status?: string; expiryDate?: string; reference?: string } = {},
): Promise<InsertedPurchase> {
  const now = new Date().toISOString();
  const uuid = crypto.randomUUID();
  const reference = options.reference ?? referenceCode("VCH");
  const total = options.total ?? options.remaining ?? 1;
  const row = await env.DB.prepare(
    `INSERT INTO voucher_redemptions (uuid, voucher_id, merchant_id, user_id, purchase_reference, purchase_status, purchase_cost, total_redemptions, remaining_redemptions, purchased_at, expiry_date, updated_at)
     VALUES (?, ?, ?, ?, ?, ?, 1000, ?, ?, ?, ?, ?) RETURNING id`,
  )
    .bind(uuid, voucher.id, voucher.merchantId, user.id, reference, options.status ?? "purchased", total, options.remaining ?? total, now, options.expiryDate ?? daysFromNow(30), now)
    .first<{ id: number }>();
  return { id: row!.id, uuid, reference };
}

export const daysFromNow = (days: number) => new Date(Date.now() + days * 86_400_000).toISOString();
export const dayString = (days: number) => daysFromNow(days).slice(0, 10);

export async function redemptionRow(id: number) {
  return (await env.DB.prepare("SELECT * FROM voucher_redemptions WHERE id = ?").bind(id).first<Record<string, any>>())!;
}

export async function eventCount(redemptionId: number) {
  const row = await env.DB.prepare("SELECT COUNT(*) AS n FROM redemption_events WHERE redemption_id = ?").bind(redemptionId).first<{ n: number }>();
  return row!.n;
}

/** A unique valid Indian mobile number in E.164. */
let phoneSeq = 0;
export const uniquePhone = () => `+9198${String(Date.now() % 1_000_000).padStart(6, "0")}${String(phoneSeq++ % 100).padStart(2, "0")}`;
