import { createRoute } from "@hono/zod-openapi";
import { publicRequestUrl } from "../../lib/public-url";
import { bearerSecurity, createRouter, errorResponses, jsonBody, jsonContent } from "../../lib/openapi";
import { PaginatedSchema, PaginationQuery } from "../../lib/pagination";
import { currentUser, requireAuth } from "../../middleware/auth";
import { Customer, CustomerCreate, CustomerIdParam, CustomerPatch, PreferencesPatch, PreferencesResponse } from "./customers.schemas";
import {
  createCustomer,
  deleteCustomer,
  getCustomer,
  getPreferences,
  listCustomers,
  updateCustomer,
  updatePreferences,
} from "./customers.service";

const tags = ["Customers"];
const security = bearerSecurity;
export const customersRouter = createRouter();
customersRouter.use("*", requireAuth);

customersRouter.openapi(
  createRoute({
    method: "post",
    path: "/",
    tags,
    summary: "Create a customer record you own",
    security,
    request: { body: jsonBody(CustomerCreate) },
    responses: { 201: jsonContent(Customer, "Created"), ...errorResponses(400, 401, 409) },
  }),
  async (c) => c.json(await createCustomer(c.env, currentUser(c), c.req.valid("json")), 201),
);

customersRouter.openapi(
  createRoute({
    method: "get",
    path: "/",
    tags,
    summary: "Your customers (admins: all), newest first",
    security,
    request: { query: PaginationQuery },
    responses: { 200: jsonContent(PaginatedSchema(Customer), "A page of customers"), ...errorResponses(400, 401) },
  }),
  async (c) => c.json(await listCustomers(c.env, currentUser(c), c.req.valid("query"), publicRequestUrl(c.env, c.req.url)), 200),
);

customersRouter.openapi(
  createRoute({
    method: "get",
    path: "/{id}",
    tags,
    summary: "One customer",
    security,
    request: { params: CustomerIdParam },
    responses: { 200: jsonContent(Customer, "The customer"), ...errorResponses(401, 404) },
  }),
  async (c) => c.json(await getCustomer(c.env, currentUser(c), c.req.valid("param").id), 200),
);

customersRouter.openapi(
  createRoute({
    method: "patch",
    path: "/{id}",
    tags,
    summary: "Update some of a customer's fields",
    security,
    request: { params: CustomerIdParam, body: jsonBody(CustomerPatch) },
    responses: { 200: jsonContent(Customer, "Updated"), ...errorResponses(400, 401, 404, 409) },
  }),
  async (c) => c.json(await updateCustomer(c.env, currentUser(c), c.req.valid("param").id, c.req.valid("json")), 200),
);

customersRouter.openapi(
  createRoute({
    method: "delete",
    path: "/{id}",
    tags,
    summary: "Delete a customer without orders",
    security,
    request: { params: CustomerIdParam },
    responses: { 204: { description: "Deleted" }, ...errorResponses(401, 404, 409) },
  }),
  async (c) => {
    await deleteCustomer(c.env, currentUser(c), c.req.valid("param").id);
    return c.body(null, 204);
  },
);

customersRouter.openapi(
  createRoute({
    method: "get",
    path: "/{id}/preferences",
    tags,
    summary: "A customer's notification preferences (defaults until changed)",
    security,
    request: { params: CustomerIdParam },
    responses: { 200: jsonContent(PreferencesResponse, "Preferences"), ...errorResponses(401, 404) },
  }),
  async (c) => c.json(await getPreferences(c.env, currentUser(c), c.req.valid("param").id), 200),
);

customersRouter.openapi(
  createRoute({
    method: "patch",
    path: "/{id}/preferences",
    tags,
    summary: "Change some notification preferences",
    security,
    request: { params: CustomerIdParam, body: jsonBody(PreferencesPatch) },
    responses: { 200: jsonContent(PreferencesResponse, "Updated preferences"), ...errorResponses(400, 401, 404) },
  }),
  async (c) => c.json(await updatePreferences(c.env, currentUser(c), c.req.valid("param").id, c.req.valid("json")), 200),
);

