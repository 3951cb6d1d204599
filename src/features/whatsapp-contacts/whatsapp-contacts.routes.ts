import { createRoute } from "@hono/zod-openapi";
import { bearerSecurity, createRouter, errorResponses, jsonBody, jsonContent } from "../../lib/openapi";
import { currentUser, requireAuth } from "../../middleware/auth";
import { ContactList, SyncBody, SyncResponse } from "./whatsapp-contacts.schemas";
import { listContacts, syncContacts } from "./whatsapp-contacts.service";

const tags = ["WhatsApp contacts"];
export const whatsappContactsRouter = createRouter();
whatsappContactsRouter.use("*", requireAuth);

whatsappContactsRouter.openapi(
  createRoute({
    method: "post",
    path: "/sync-contacts",
    tags,
    summary: "Upload phone contacts: normalised to E.164, invalid ones reported, duplicates merged",
    security: bearerSecurity,
    request: { body: jsonBody(SyncBody) },
    responses: { 200: jsonContent(SyncResponse, "Synced"), ...errorResponses(400, 401) },
  }),
  async (c) => c.json(await syncContacts(c.env, currentUser(c).userId, c.req.valid("json")), 200),
);

whatsappContactsRouter.openapi(
  createRoute({
    method: "get",
    path: "/whatsapp-contacts",
    tags,
    summary: "Your synced contacts",
    security: bearerSecurity,
    responses: { 200: jsonContent(ContactList, "Contacts"), ...errorResponses(401) },
  }),
  async (c) => c.json(await listContacts(c.env, currentUser(c).userId), 200),
);
