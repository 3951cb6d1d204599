import { and, count as countRows, desc, eq } from "drizzle-orm";
import type { Env } from "../../env";
import { createDb } from "../../db/client";
import { categories, vouchers } from "../../db/schema";
import { notFound, validationError } from "../../lib/errors";
import { uuid } from "../../lib/ids";
import { pageWindow, paginated, type Pagination } from "../../lib/pagination";
import { nowIso } from "../../lib/time";
import { requireMerchant } from "../merchants/merchants.service";
import { readImage, storeImage } from "../media/images";
import { toVoucherJson, type VoucherRow } from "./voucher-json";
import { voucherTypeName } from "./voucher-value";
import type { VoucherCreateInput, VoucherPatchInput } from "./vouchers.schemas";

type TypeField = "percentage_value" | "percentage_min_bill" | "flat_amount" | "flat_min_bill" | "product_name" | "product_min_bill";
const TYPE_FIELDS: Record<1 | 2 | 3, TypeField[]> = {
  1: ["percentage_value", "percentage_min_bill"],
  2: ["flat_amount", "flat_min_bill"],
  3: ["product_name", "product_min_bill"],
};
const REQUIRED: Record<1 | 2 | 3, TypeField[]> = { 1: ["percentage_value", "percentage_min_bill"], 2: ["flat_amount"], 3: ["product_name"] };
const COLUMN: Record<TypeField, keyof VoucherRow> = {
  percentage_value: "percentageValue",
  percentage_min_bill: "percentageMinBill",
  flat_amount: "flatAmount",
  flat_min_bill: "flatMinBill",
  product_name: "productName",
  product_min_bill: "productMinBill",
};

export interface VoucherDeps {
  env: Env;
  /** Origin for absolute image URLs. */
  baseUrl: string;
}

/**
 * The fields a type needs are required and the other types' fields refused, so a voucher never
 * carries a value its type does not show. Returns the type columns to write (others cleared).
 */
function typeColumns(type: 1 | 2 | 3, input: Partial<Record<TypeField, unknown>>, existing?: VoucherRow) {
  const foreign = (Object.keys(TYPE_FIELDS) as unknown as (1 | 2 | 3)[])
    .filter((t) => Number(t) !== type)
    .flatMap((t) => TYPE_FIELDS[t])
    .filter((f) => input[f] !== undefined);
  if (foreign.length > 0)
    throw validationError(`A ${voucherTypeName(type)} voucher does not take ${foreign.join(", ")}.`, { fields: foreign });
  const keepExisting = existing && existing.voucherType === type;
  const values = {} as Record<TypeField, number | string | null>;
  for (const field of Object.values(TYPE_FIELDS).flat()) {
    const own = TYPE_FIELDS[type].includes(field);
    const fromInput = input[field] as number | string | undefined;
    values[field] = !own ? null : fromInput !== undefined ? fromInput : keepExisting ? (existing[COLUMN[field]] as number | string | null) : null;
  }
  const missing = REQUIRED[type].filter((f) => values[f] === null);
  if (missing.length > 0)
    throw validationError(`A ${voucherTypeName(type)} voucher needs ${missing.join(", ")}.`, { fields: missing });
  if (type === 1 && !((values.percentage_value as number) > 0 && (values.percentage_value as number) <= 10_000))
    throw validationError("percentage_value must be more than 0 and at most 100.");
  if (type === 2 && !((values.flat_amount as number) > 0)) throw validationError("flat_amount must be more than 0.");
  for (const bill of ["flat_min_bill", "product_min_bill"] as const) if (TYPE_FIELDS[type].includes(bill)) values[bill] ??= 0;
  return {
    percentageValue: values.percentage_value as number | null,
    percentageMinBill: values.percentage_min_bill as number | null,
    flatAmount: values.flat_amount as number | null,
    flatMinBill: values.flat_min_bill as number | null,
    productName: values.product_name as string | null,
    productMinBill: values.product_min_bill as number | null,
  };
}

async function checkCategory(env: Env, categoryId: number | null | undefined) {
  if (categoryId === null || categoryId === undefined) return;
  const row = await createDb(env.DB).query.categories.findFirst({ where: eq(categories.id, categoryId), columns: { isActive: true } });
  if (!row || !row.isActive) throw validationError("category does not name an active category.", { fields: ["category"] });
}

function checkWindow(from: string | null | undefined, until: string | null | undefined) {
  if (from && until && until <= from) throw validationError("valid_until must be after valid_from.");
}

/**
 * Runs the write that references a just-stored image; if it fails, the image is deleted again, so
 * a refused or failed request leaves nothing in R2. Everything that can refuse runs before the store.
 */
async function unlessStored<T>(env: Env, imageKey: string | null, write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (error) {
    if (imageKey) await env.MEDIA.delete(imageKey);
    throw error;
  }
}

export async function createVoucher({ env, baseUrl }: VoucherDeps, userId: number, input: VoucherCreateInput, image: File | null) {
  const merchant = await requireMerchant(env, userId, { active: true });
  const typed = typeColumns(input.voucher_type, input);
  checkWindow(input.valid_from, input.valid_until);
  await checkCategory(env, input.category);
  const imageKey = image ? await storeImage(env, "vouchers", await readImage(image, "image")) : null;
  const now = nowIso();
  const [row] = await unlessStored(env, imageKey, () =>
    createDb(env.DB)
      .insert(vouchers)
      .values({
        uuid: uuid(),
        merchantId: merchant.id,
        categoryId: input.category ?? null,
        title: input.title,
        message: input.message ?? "",
        termsConditions: input.terms_conditions ?? "",
        voucherType: input.voucher_type,
        ...typed,
        count: input.count ?? null,
        redemptionsPerPurchase: input.redemptions_per_purchase ?? 1,
        validityDays: input.validity_days ?? 365,
        validFrom: input.valid_from ?? null,
        validUntil: input.valid_until ?? null,
        isGiftCard: input.is_gift_card ?? false,
        maxSharesPerPurchase: input.max_shares_per_purchase ?? 5,
        isActive: input.is_active ?? true,
        imageKey,
        createdAt: now,
        updatedAt: now,
      })
      .returning(),
  );
  return toVoucherJson(row!, baseUrl);
}

export async function listOwnVouchers({ env, baseUrl }: VoucherDeps, userId: number, requestUrl: string, page: Pagination) {
  const merchant = await requireMerchant(env, userId);
  const db = createDb(env.DB);
  const { limit, offset } = pageWindow(page);
  const where = eq(vouchers.merchantId, merchant.id);
  const [rows, [total]] = await db.batch([
    db.select().from(vouchers).where(where).orderBy(desc(vouchers.createdAt), desc(vouchers.id)).limit(limit).offset(offset),
    db.select({ n: countRows() }).from(vouchers).where(where),
  ]);
  return paginated(requestUrl, page, total?.n ?? 0, rows.map((r) => toVoucherJson(r, baseUrl)));
}

/** Another merchant's voucher is "not found": its existence is none of the caller's business. */
async function ownVoucher(env: Env, merchantId: number, id: number) {
  const row = await createDb(env.DB).query.vouchers.findFirst({ where: and(eq(vouchers.id, id), eq(vouchers.merchantId, merchantId)) });
  if (!row) throw notFound("Voucher");
  return row;
}

export async function getOwnVoucher({ env, baseUrl }: VoucherDeps, userId: number, id: number) {
  const merchant = await requireMerchant(env, userId);
  return toVoucherJson(await ownVoucher(env, merchant.id, id), baseUrl);
}

export async function updateVoucher({ env, baseUrl }: VoucherDeps, userId: number, id: number, patch: VoucherPatchInput, image: File | null) {
  const merchant = await requireMerchant(env, userId, { active: true });
  const existing = await ownVoucher(env, merchant.id, id);
  const type = patch.voucher_type ?? (existing.voucherType as 1 | 2 | 3);
  const typed = typeColumns(type, patch, existing);
  checkWindow(patch.valid_from !== undefined ? patch.valid_from : existing.validFrom, patch.valid_until !== undefined ? patch.valid_until : existing.validUntil);
  await checkCategory(env, patch.category);
  const issued = existing.soldCount + existing.claimedCount;
  if (patch.count !== undefined && patch.count !== null && patch.count < issued)
    throw validationError(`count cannot be below the ${issued} already issued (sold and claimed as gift cards).`, { fields: ["count"] });
  const imageKey = image ? await storeImage(env, "vouchers", await readImage(image, "image")) : undefined;
  const row = await unlessStored(env, imageKey ?? null, async () => {
    try {
      const updated = await createDb(env.DB)
        .update(vouchers)
        .set({
          ...typed,
          voucherType: type,
          ...(patch.title !== undefined && { title: patch.title }),
          ...(patch.message !== undefined && { message: patch.message }),
          ...(patch.terms_conditions !== undefined && { termsConditions: patch.terms_conditions }),
          ...(patch.category !== undefined && { categoryId: patch.category }),
          ...(patch.count !== undefined && { count: patch.count }),
          ...(patch.redemptions_per_purchase !== undefined && { redemptionsPerPurchase: patch.redemptions_per_purchase }),
          ...(patch.validity_days !== undefined && { validityDays: patch.validity_days }),
          ...(patch.valid_from !== undefined && { validFrom: patch.valid_from }),
          ...(patch.valid_until !== undefined && { validUntil: patch.valid_until }),
          ...(patch.is_gift_card !== undefined && { isGiftCard: patch.is_gift_card }),
          ...(patch.max_shares_per_purchase !== undefined && { maxSharesPerPurchase: patch.max_shares_per_purchase }),
          ...(patch.is_active !== undefined && { isActive: patch.is_active }),
          ...(imageKey !== undefined && { imageKey }),
          updatedAt: nowIso(),
        })
        .where(and(eq(vouchers.id, id), eq(vouchers.merchantId, merchant.id)))
        .returning();
      if (!updated[0]) throw notFound("Voucher");
      return updated[0];
    } catch (error) {
      // A gift card claimed between the check above and this write: the stock guard refused the lower count.
      if (String((error as Error)?.message ?? error).includes("voucher_stock"))
        throw validationError("count cannot be below what is already sold and claimed as gift cards.", { fields: ["count"] });
      throw error;
    }
  });
  if (imageKey && existing.imageKey) await env.MEDIA.delete(existing.imageKey);
  return toVoucherJson(row, baseUrl);
}

/**
 * A voucher nobody bought is deleted; one with any purchase is deactivated instead, because its
 * purchases (and their QR codes) still point at it. The check and the delete are one statement.
 */
export async function deleteVoucher({ env, baseUrl }: VoucherDeps, userId: number, id: number) {
  const merchant = await requireMerchant(env, userId);
  const existing = await ownVoucher(env, merchant.id, id);
  const deleted = await env.DB.prepare(
    "DELETE FROM vouchers WHERE id = ? AND merchant_id = ? AND sold_count = 0 AND NOT EXISTS (SELECT 1 FROM voucher_redemptions WHERE voucher_id = vouchers.id) AND NOT EXISTS (SELECT 1 FROM advertisements WHERE voucher_id = vouchers.id) RETURNING id",
  )
    .bind(id, merchant.id)
    .first<{ id: number }>();
  if (deleted) {
    if (existing.imageKey) await env.MEDIA.delete(existing.imageKey);
    return { message: "Voucher deleted.", deleted: true, deactivated: false, voucher: null };
  }
  const [row] = await createDb(env.DB)
    .update(vouchers)
    .set({ isActive: false, updatedAt: nowIso() })
    .where(and(eq(vouchers.id, id), eq(vouchers.merchantId, merchant.id)))
    .returning();
  if (!row) throw notFound("Voucher");
  return {
    message: "This voucher has purchases, so it was deactivated instead of deleted; existing purchases stay usable.",
    deleted: false,
    deactivated: true,
    voucher: toVoucherJson(row, baseUrl),
  };
}
