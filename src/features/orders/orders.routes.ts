import { createRoute } from "@hono/zod-openapi";
import { publicRequestUrl } from "../../lib/public-url";
import { bearerSecurity, createRouter, errorResponses, jsonBody, jsonContent } from "../../lib/openapi";
import { PaginatedSchema, PaginationQuery } from "../../lib/pagination";
import { currentUser, requireAuth, requireRole } from "../../middleware/auth";
import { rateLimit } from "../../middleware/rate-limit";
import { Order, OrderCreate, OrderIdParam, OrderListQuery, OrderStatusUpdate, OrderUpdate } from "./orders.schemas";
import { changeStatus, createOrder, deleteOrder, getOrder, listOrders, updateOrder } from "./orders.service";

const tags = ["Orders"];
const security = bearerSecurity;
const adminOnly = requireRole("admin");
export const ordersRouter = createRouter();
ordersRouter.use("*", requireAuth);
// Each order notifies: order creation is limited per user.
ordersRouter.post("/", rateLimit("ORDER_LIMITER", "order"));

ordersRouter.openapi(
  createRoute({
    method: "post",
    path: "/",
    tags,
    summary: "Place an order for yourself (customer from your profile email; notifies the customer)",
    security,
    request: { body: jsonBody(OrderCreate) },
    responses: { 201: jsonContent(Order, "Created"), ...errorResponses(400, 401, 409, 429) },
  }),
  async (c) => c.json(await createOrder(c.env, currentUser(c), c.req.valid("json")), 201),
);

ordersRouter.openapi(
  createRoute({
    method: "get",
    path: "/",
    tags,
    summary: "Your orders (admins: all), newest first",
    security,
    request: { query: PaginationQuery.extend(OrderListQuery.shape) },
    responses: { 200: jsonContent(PaginatedSchema(Order), "A page of orders"), ...errorResponses(400, 401) },
  }),
  async (c) => {
    const { status, ...page } = c.req.valid("query");
    return c.json(await listOrders(c.env, currentUser(c), page, publicRequestUrl(c.env, c.req.url), status), 200);
  },
);

ordersRouter.openapi(
  createRoute({
    method: "get",
    path: "/{id}",
    tags,
    summary: "One order",
    security,
    request: { params: OrderIdParam },
    responses: { 200: jsonContent(Order, "The order"), ...errorResponses(401, 404) },
  }),
  async (c) => c.json(await getOrder(c.env, currentUser(c), c.req.valid("param").id), 200),
);

for (const method of ["put", "patch"] as const) {
  ordersRouter.openapi(
    createRoute({
      method,
      path: "/{id}",
      tags,
      summary: "Admin: update an order (a status change follows the status machine and notifies)",
      security,
      middleware: [adminOnly] as const,
      request: { params: OrderIdParam, body: jsonBody(OrderUpdate) },
      responses: { 200: jsonContent(Order, "Updated"), ...errorResponses(400, 401, 403, 404, 409) },
    }),
    async (c) => c.json(await updateOrder(c.env, currentUser(c), c.req.valid("param").id, c.req.valid("json")), 200),
  );
}

ordersRouter.openapi(
  createRoute({
    method: "delete",
    path: "/{id}",
    tags,
    summary: "Admin: delete an order",
    security,
    middleware: [adminOnly] as const,
    request: { params: OrderIdParam },
    responses: { 204: { description: "Deleted" }, ...errorResponses(401, 403, 404) },
  }),
  async (c) => {
    await deleteOrder(c.env, currentUser(c), c.req.valid("param").id);
    return c.body(null, 204);
  },
);

ordersRouter.openapi(
  createRoute({
    method: "put",
    path: "/{id}/status",
    tags,
    summary: "Admin: move an order to its next status (notifies the customer)",
    security,
    middleware: [adminOnly] as const,
    request: { params: OrderIdParam, body: jsonBody(OrderStatusUpdate) },
    responses: { 200: jsonContent(Order, "Updated"), ...errorResponses(400, 401, 403, 404, 409) },
  }),
  async (c) => c.json(await changeStatus(c.env, currentUser(c), c.req.valid("param").id, c.req.valid("json").status), 200),
);
