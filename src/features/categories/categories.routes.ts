import { createRoute } from "@hono/zod-openapi";
import { cachedJson } from "../../lib/read-cache";
import { bearerSecurity, createRouter, errorResponses, jsonBody, jsonContent, notModified } from "../../lib/openapi";
import { requireAuth, requireRole } from "../../middleware/auth";
import { Category, CategoryBody, CategoryDeleted, CategoryIdParam, CategoryList, CategoryPatch } from "./categories.schemas";
import { createCategory, deleteCategory, listCategories, updateCategory } from "./categories.service";

const tags = ["Categories"];
export const categoriesRouter = createRouter();
const adminOnly = [requireAuth, requireRole("admin")] as const;

categoriesRouter.openapi(
  createRoute({
    method: "get",
    path: "/",
    tags,
    summary: "Active voucher categories (public)",
    responses: { 200: jsonContent(CategoryList, "Categories"), ...notModified },
  }),
  async (c) => cachedJson(c, "categories", ["categories"], () => listCategories(c.env), { shared: true }),
);

categoriesRouter.openapi(
  createRoute({
    method: "post",
    path: "/",
    tags,
    middleware: [...adminOnly],
    summary: "Create a category (admin)",
    security: bearerSecurity,
    request: { body: jsonBody(CategoryBody) },
    responses: { 201: jsonContent(Category, "Created"), ...errorResponses(400, 401, 403, 409) },
  }),
  async (c) => c.json(await createCategory(c.env, c.req.valid("json")), 201),
);

categoriesRouter.openapi(
  createRoute({
    method: "patch",
    path: "/{id}",
    tags,
    middleware: [...adminOnly],
    summary: "Update a category (admin)",
    security: bearerSecurity,
    request: { params: CategoryIdParam, body: jsonBody(CategoryPatch) },
    responses: { 200: jsonContent(Category, "Updated"), ...errorResponses(400, 401, 403, 404, 409) },
  }),
  async (c) => c.json(await updateCategory(c.env, c.req.valid("param").id, c.req.valid("json")), 200),
);

categoriesRouter.openapi(
  createRoute({
    method: "delete",
    path: "/{id}",
    tags,
    middleware: [...adminOnly],
    summary: "Delete a category (admin); one still used by vouchers is deactivated instead",
    security: bearerSecurity,
    request: { params: CategoryIdParam },
    responses: { 200: jsonContent(CategoryDeleted, "Deleted or deactivated"), ...errorResponses(401, 403, 404) },
  }),
  async (c) => c.json(await deleteCategory(c.env, c.req.valid("param").id), 200),
);
