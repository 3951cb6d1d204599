import { and, count, desc, eq, type SQL } from "drizzle-orm";
import type { AuthContext, Env } from "../../env";
import { createDb } from "../../db/client";
import { customers, notificationPreferences, orders } from "../../db/schema";
import { isUniqueViolation } from "../../lib/d1-errors";
import { conflict, notFound } from "../../lib/errors";
import { pageWindow, paginated, type Pagination } from "../../lib/pagination";
import { normalizePhone } from "../../lib/phone";
import { nowIso } from "../../lib/time";
import type { CustomerCreate, CustomerPatch, PreferencesPatch } from "./customers.schemas";
import { DEFAULT_PREFERENCES, loadPreferences } from "../notifications/preferences";

type Caller = Pick<AuthContext, "userId" | "role">;
type CustomerRow = typeof customers.$inferSelect;

export function toCustomer(row: CustomerRow) {
  return {
    id: row.id,
    name: row.name,
    email: row.email,
    phone: row.phone,
    telegram_chat_id: row.telegramChatId,
    address: row.address,
    city: row.city,
    country: row.country,
    postal_code: row.postalCode,
    created_at: row.createdAt,
    updated_at: row.updatedAt,
  };
}

/** A user sees the customers they own; admins see all. Anything else is "not found". */
const visibleTo = (caller: Caller): SQL | undefined => (caller.role === "admin" ? undefined : eq(customers.ownerUserId, caller.userId));

const duplicateEmail = () => conflict("You already have a customer with this email address.");

function columns(input: CustomerPatch) {
  return {
    ...(input.name !== undefined && { name: input.name }),
    ...(input.email !== undefined && { email: input.email }),
    ...(input.phone !== undefined && { phone: input.phone === null ? null : normalizePhone(input.phone) }),
    ...(input.telegram_chat_id !== undefined && { telegramChatId: input.telegram_chat_id }),
    ...(input.address !== undefined && { address: input.address }),
    ...(input.city !== undefined && { city: input.city }),
    ...(input.country !== undefined && { country: input.country }),
    ...(input.postal_code !== undefined && { postalCode: input.postal_code }),
  };
}

export async function createCustomer(env: Env, caller: Caller, input: CustomerCreate) {
  const now = nowIso();
  try {
    const [row] = await createDb(env.DB)
      .insert(customers)
      .values({ ...columns(input), name: input.name, ownerUserId: caller.userId, createdAt: now, updatedAt: now })
      .returning();
    return toCustomer(row!);
  } catch (error) {
    if (isUniqueViolation(error)) throw duplicateEmail();
    throw error;
  }
}

export async function listCustomers(env: Env, caller: Caller, page: Pagination, url: string) {
  const db = createDb(env.DB);
  const where = visibleTo(caller);
  const { limit, offset } = pageWindow(page);
  const [rows, [total]] = await Promise.all([
    db.select().from(customers).where(where).orderBy(desc(customers.createdAt), desc(customers.id)).limit(limit).offset(offset),
    db.select({ n: count() }).from(customers).where(where),
  ]);
  return paginated(url, page, total?.n ?? 0, rows.map(toCustomer));
}

async function findVisible(env: Env, caller: Caller, id: number): Promise<CustomerRow> {
  const row = await createDb(env.DB).query.customers.findFirst({ where: and(eq(customers.id, id), visibleTo(caller)) });
  if (!row) throw notFound("Customer");
  return row;
}

export const getCustomer = async (env: Env, caller: Caller, id: number) => toCustomer(await findVisible(env, caller, id));

export async function updateCustomer(env: Env, caller: Caller, id: number, patch: CustomerPatch) {
  await findVisible(env, caller, id);
  try {
    const [row] = await createDb(env.DB)
      .update(customers)
      .set({ ...columns(patch), updatedAt: nowIso() })
      .where(eq(customers.id, id))
      .returning();
    if (!row) throw notFound("Customer");
    return toCustomer(row);
  } catch (error) {
    if (isUniqueViolation(error)) throw duplicateEmail();
    throw error;
  }
}

/** Orders are business records that point at their customer, so a customer with orders stays. */
export async function deleteCustomer(env: Env, caller: Caller, id: number) {
  await findVisible(env, caller, id);
  const db = createDb(env.DB);
  const [withOrders] = await db.select({ n: count() }).from(orders).where(eq(orders.customerId, id));
  if ((withOrders?.n ?? 0) > 0) throw conflict("This customer has orders and cannot be deleted.");
  await db.delete(customers).where(eq(customers.id, id));
}

export async function getPreferences(env: Env, caller: Caller, id: number) {
  await findVisible(env, caller, id);
  const [prefs, row] = await Promise.all([
    loadPreferences(env, [id]),
    createDb(env.DB).query.notificationPreferences.findFirst({ where: eq(notificationPreferences.customerId, id), columns: { updatedAt: true } }),
  ]);
  return { customer: id, ...(prefs.get(id) ?? DEFAULT_PREFERENCES), updated_at: row?.updatedAt ?? null };
}

export async function updatePreferences(env: Env, caller: Caller, id: number, patch: PreferencesPatch) {
  await findVisible(env, caller, id);
  const current = (await loadPreferences(env, [id])).get(id) ?? DEFAULT_PREFERENCES;
  const next = { ...current, ...patch };
  const now = nowIso();
  const values = {
    emailEnabled: next.email_enabled,
    telegramEnabled: next.telegram_enabled,
    whatsappEnabled: next.whatsapp_enabled,
    orderUpdates: next.order_updates,
    promotional: next.promotional,
    updatedAt: now,
  };
  // Only the fields sent are written, so two concurrent PATCHes of different flags both stick.
  const sent = {
    ...(patch.email_enabled !== undefined && { emailEnabled: patch.email_enabled }),
    ...(patch.telegram_enabled !== undefined && { telegramEnabled: patch.telegram_enabled }),
    ...(patch.whatsapp_enabled !== undefined && { whatsappEnabled: patch.whatsapp_enabled }),
    ...(patch.order_updates !== undefined && { orderUpdates: patch.order_updates }),
    ...(patch.promotional !== undefined && { promotional: patch.promotional }),
    updatedAt: now,
  };
  await createDb(env.DB)
    .insert(notificationPreferences)
    .values({ customerId: id, ...values })
    .onConflictDoUpdate({ target: notificationPreferences.customerId, set: sent });
  return getPreferences(env, caller, id);
}
