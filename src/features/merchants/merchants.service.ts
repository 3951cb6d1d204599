import { and, eq } from "drizzle-orm";
import type { Env } from "../../env";
import { createDb } from "../../db/client";
import { merchants, users } from "../../db/schema";
import { conflict, forbidden, notFound } from "../../lib/errors";
import { nowIso } from "../../lib/time";
import { uuid } from "../../lib/ids";
import { issueTokens } from "../auth/auth.service";

type MerchantRow = typeof merchants.$inferSelect;
export interface MerchantInput {
  business_name?: string;
  category?: string;
  phone?: string;
  address?: string;
  city?: string;
  state?: string;
}

export function toMerchantJson(m: MerchantRow) {
  return {
    id: m.id,
    user: m.userId,
    business_name: m.businessName,
    category: m.category,
    phone: m.phone,
    address: m.address,
    city: m.city,
    state: m.state,
    is_active: m.isActive,
    created_at: m.createdAt,
    updated_at: m.updatedAt,
  };
}

/**
 * The caller's merchant row, by user id. The JWT's role lags behind a profile created after the
 * token was issued, so the row decides who is a merchant. Writes need an active merchant.
 */
export async function requireMerchant(env: Pick<Env, "DB">, userId: number, options: { active?: boolean } = {}) {
  const row = await createDb(env.DB).query.merchants.findFirst({ where: eq(merchants.userId, userId) });
  if (!row) throw forbidden("Only merchants can do this. Create a merchant profile first (POST /api/v1/merchants/profile/).");
  if (options.active && !row.isActive) throw forbidden("This merchant account has been deactivated by an administrator.");
  return row;
}

/** Creates the caller's merchant profile and makes them a merchant (admins keep their role). */
export async function createMerchantProfile(env: Env, userId: number, input: MerchantInput & { business_name: string }) {
  const now = nowIso();
  const db = createDb(env.DB);
  const insert = db
    .insert(merchants)
    .values({
      userId,
      businessName: input.business_name,
      category: input.category ?? "",
      phone: input.phone ?? null,
      address: input.address ?? "",
      city: input.city ?? "",
      state: input.state ?? "",
      createdAt: now,
      updatedAt: now,
    })
    .onConflictDoNothing({ target: merchants.userId })
    .returning();
  const promote = db.update(users).set({ role: "merchant", updatedAt: now }).where(and(eq(users.id, userId), eq(users.role, "user")));
  const reread = db.select({ id: users.id, role: users.role, username: users.username }).from(users).where(eq(users.id, userId));
  // One batch: the profile and the role change commit together.
  const [inserted, , [user]] = await db.batch([insert, promote, reread]);
  if (!inserted[0]) throw conflict("You already have a merchant profile.");
  if (!user) throw notFound("User");
  return { merchant: toMerchantJson(inserted[0]), ...(await issueTokens(env, user, uuid())) };
}

export async function getMerchantProfile(env: Pick<Env, "DB">, userId: number) {
  return toMerchantJson(await requireMerchant(env, userId));
}

export async function updateMerchantProfile(env: Pick<Env, "DB">, userId: number, patch: MerchantInput) {
  await requireMerchant(env, userId);
  const [row] = await createDb(env.DB)
    .update(merchants)
    .set({
      ...(patch.business_name !== undefined && { businessName: patch.business_name }),
      ...(patch.category !== undefined && { category: patch.category }),
      ...(patch.phone !== undefined && { phone: patch.phone }),
      ...(patch.address !== undefined && { address: patch.address }),
      ...(patch.city !== undefined && { city: patch.city }),
      ...(patch.state !== undefined && { state: patch.state }),
      updatedAt: nowIso(),
    })
    .where(eq(merchants.userId, userId))
    .returning();
  return toMerchantJson(row!);
}

/** Admin switch: an inactive merchant's vouchers neither list nor sell, and its scans stop working. */
export async function setMerchantActive(env: Pick<Env, "DB">, merchantId: number, active: boolean) {
  const [row] = await createDb(env.DB)
    .update(merchants)
    .set({ isActive: active, updatedAt: nowIso() })
    .where(eq(merchants.id, merchantId))
    .returning();
  if (!row) throw notFound("Merchant");
  return toMerchantJson(row);
}
