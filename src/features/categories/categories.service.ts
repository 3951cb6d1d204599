import { asc, eq } from "drizzle-orm";
import type { Env } from "../../env";
import { createDb } from "../../db/client";
import { categories } from "../../db/schema";
import { conflict, notFound } from "../../lib/errors";
import { prebuiltSelect } from "../../lib/prebuilt-select";
import { nowIso } from "../../lib/time";

type CategoryRow = typeof categories.$inferSelect;
const toJson = (c: CategoryRow) => ({ id: c.id, name: c.name, description: c.description, is_active: c.isActive, created_at: c.createdAt });
const nameTaken = () => conflict("A category with that name already exists.");

const activeCategories = prebuiltSelect(categories, (q) => q.where(eq(categories.isActive, true)).orderBy(asc(categories.name)));

/** Public list: active categories only. */
export async function listCategories(env: Pick<Env, "DB">) {
  const rows = await activeCategories(env.DB);
  return { count: rows.length, results: rows.map(toJson) };
}

export async function createCategory(env: Pick<Env, "DB">, input: { name: string; description?: string; is_active?: boolean }) {
  const [row] = await createDb(env.DB)
    .insert(categories)
    .values({ name: input.name, description: input.description ?? "", isActive: input.is_active ?? true, createdAt: nowIso() })
    .onConflictDoNothing({ target: categories.name })
    .returning();
  if (!row) throw nameTaken();
  return toJson(row);
}

export async function updateCategory(env: Pick<Env, "DB">, id: number, patch: { name?: string; description?: string; is_active?: boolean }) {
  const db = createDb(env.DB);
  if (patch.name !== undefined) {
    const clash = await db.query.categories.findFirst({ where: eq(categories.name, patch.name), columns: { id: true } });
    if (clash && clash.id !== id) throw nameTaken();
  }
  const changes = {
    ...(patch.name !== undefined && { name: patch.name }),
    ...(patch.description !== undefined && { description: patch.description }),
    ...(patch.is_active !== undefined && { isActive: patch.is_active }),
  };
  // An empty PATCH changes nothing and answers the category as it is (drizzle refuses an empty SET).
  const [row] =
    Object.keys(changes).length === 0
      ? await db.select().from(categories).where(eq(categories.id, id))
      : await db.update(categories).set(changes).where(eq(categories.id, id)).returning();
  if (!row) throw notFound("Category");
  return toJson(row);
}

/** A category vouchers still point at is deactivated instead of deleted, so they keep their link. */
export async function deleteCategory(env: Pick<Env, "DB">, id: number) {
  const deleted = await env.DB.prepare(
    "DELETE FROM categories WHERE id = ? AND NOT EXISTS (SELECT 1 FROM vouchers WHERE category_id = ?) RETURNING id",
  )
    .bind(id, id)
    .first<{ id: number }>();
  if (deleted) return { message: "Category deleted.", deleted: true, category: null };
  const [row] = await createDb(env.DB).update(categories).set({ isActive: false }).where(eq(categories.id, id)).returning();
  if (!row) throw notFound("Category");
  return { message: "Category is used by vouchers, so it was deactivated instead of deleted.", deleted: false, category: toJson(row) };
}
