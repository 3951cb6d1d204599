import { z } from "@hono/zod-openapi";

export const CategoryBody = z
  .strictObject({
    name: z.string().trim().min(1).max(100).openapi({ example: "Food & Beverage" }),
    description: z.string().trim().max(500).optional(),
    is_active: z.boolean().optional(),
  })
  .openapi("CategoryCreate");

export const CategoryPatch = CategoryBody.partial().openapi("CategoryUpdate");

export const Category = z
  .object({ id: z.number().int(), name: z.string(), description: z.string(), is_active: z.boolean(), created_at: z.string() })
  .openapi("Category");

export const CategoryList = z.object({ count: z.number().int(), results: z.array(Category) });
export const CategoryIdParam = z.object({ id: z.coerce.number().int().positive() });
export const CategoryDeleted = z.object({ message: z.string(), deleted: z.boolean(), category: Category.nullable() });
