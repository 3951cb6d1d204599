import { and, asc, eq } from "drizzle-orm";
import type { Env } from "../../env";
import { createDb } from "../../db/client";
import { offers, type SANDBOX_OUTCOMES } from "../../db/schema";
import { notFound, validationError } from "../../lib/errors";
import { formatAmount, parseAmount } from "../../lib/money";
import { prebuiltSelect } from "../../lib/prebuilt-select";
import { nowIso } from "../../lib/time";

type OfferRow = typeof offers.$inferSelect;

export function toOffer(row: OfferRow, forAdmin = false) {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    price: formatAmount(row.price),
    duration_days: row.durationDays,
    is_active: row.isActive,
    partner: row.partner,
    ...(forAdmin ? { sandbox_outcome: row.sandboxOutcome } : {}),
    created_at: row.createdAt,
    updated_at: row.updatedAt,
  };
}

// The catalogue's two statements, built once per isolate (the list is read on every cache miss).
const activeOffers = prebuiltSelect(offers, (q) => q.where(eq(offers.isActive, true)).orderBy(asc(offers.id)).limit(500));
const allOffers = prebuiltSelect(offers, (q) => q.orderBy(asc(offers.id)).limit(500));

export function listOffers(env: Pick<Env, "DB">, includeInactive: boolean): Promise<OfferRow[]> {
  return (includeInactive ? allOffers : activeOffers)(env.DB);
}

/** Users see active offers only; an inactive one is a 404 to them, like an unknown one. */
export async function getOffer(env: Pick<Env, "DB">, offerId: number, includeInactive = false): Promise<OfferRow> {
  const db = createDb(env.DB);
  const row = await db.query.offers.findFirst({
    where: includeInactive ? eq(offers.id, offerId) : and(eq(offers.id, offerId), eq(offers.isActive, true)),
  });
  if (!row) throw notFound("Offer");
  return row;
}

function positivePrice(input: string | number): number {
  const price = parseAmount(input, "price");
  if (price <= 0) throw validationError("price must be greater than 0.");
  return price;
}

export interface OfferInput {
  name?: string;
  description?: string;
  price?: string | number;
  duration_days?: number;
  is_active?: boolean;
  partner?: string;
  sandbox_outcome?: (typeof SANDBOX_OUTCOMES)[number];
}

export async function createOffer(env: Pick<Env, "DB">, input: OfferInput & { name: string; price: string | number; duration_days: number }) {
  const now = nowIso();
  const [row] = await createDb(env.DB)
    .insert(offers)
    .values({
      name: input.name,
      description: input.description ?? "",
      price: positivePrice(input.price),
      durationDays: input.duration_days,
      isActive: input.is_active ?? true,
      partner: input.partner ?? "",
      sandboxOutcome: input.sandbox_outcome ?? "succeed",
      createdAt: now,
      updatedAt: now,
    })
    .returning();
  return row!;
}

export async function updateOffer(env: Pick<Env, "DB">, offerId: number, patch: OfferInput) {
  const [row] = await createDb(env.DB)
    .update(offers)
    .set({
      ...(patch.name !== undefined && { name: patch.name }),
      ...(patch.description !== undefined && { description: patch.description }),
      ...(patch.price !== undefined && { price: positivePrice(patch.price) }),
      ...(patch.duration_days !== undefined && { durationDays: patch.duration_days }),
      ...(patch.is_active !== undefined && { isActive: patch.is_active }),
      ...(patch.partner !== undefined && { partner: patch.partner }),
      ...(patch.sandbox_outcome !== undefined && { sandboxOutcome: patch.sandbox_outcome }),
      updatedAt: nowIso(),
    })
    .where(eq(offers.id, offerId))
    .returning();
  if (!row) throw notFound("Offer");
  return row;
}
