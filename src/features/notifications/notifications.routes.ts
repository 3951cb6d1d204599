import { createRoute } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { AppBindings } from "../../env";
import { publicRequestUrl } from "../../lib/public-url";
import { bearerSecurity, createRouter, errorResponses, jsonBody, jsonContent } from "../../lib/openapi";
import { PaginatedSchema, PaginationQuery } from "../../lib/pagination";
import { currentUser, requireAuth } from "../../middleware/auth";
import { idempotencyInBatch } from "../../middleware/idempotency";
import { rateLimit } from "../../middleware/rate-limit";
import { BulkBody, BulkResult, ListQuery, Notification, NotificationIdParam, SendBody, Stats, StatsQuery } from "./notifications.schemas";
import { getNotification, listNotifications, notificationStats, sendBulk, sendNotification } from "./notifications.service";

const tags = ["Notifications"];
const security = bearerSecurity;
export const notificationsRouter = createRouter();
notificationsRouter.use("*", requireAuth);
// A flood cap on requests; the messages themselves are counted per sender and per recipient.
notificationsRouter.use("/send", rateLimit("NOTIFY_LIMITER", "notify"));
notificationsRouter.use("/bulk", rateLimit("NOTIFY_LIMITER", "notify"));

/** Admins, and clients whose API key carries `notifications:send`, may message any recipient. */
const sender = (c: Context<AppBindings>) => {
  const auth = currentUser(c);
  return { ...auth, anyRecipient: auth.role === "admin" || (c.get("apiKey")?.scopes.includes("notifications:send") ?? false) };
};

notificationsRouter.openapi(
  createRoute({
    method: "post",
    path: "/send",
    tags,
    summary: "Send one notification by email, Telegram or WhatsApp (now or at scheduled_at)",
    description:
      "A user may send only to their own profile email or phone; any other recipient needs the admin role or an `X-API-Key` with the `notifications:send` scope (403 otherwise). Each message counts against the sender's hourly allowance and the recipient's daily cap. " +
      "Accepts `Idempotency-Key`: the same key replays the first answer and one message is sent, however close behind the retries come; the same key with another body is 422.",
    security,
    middleware: [idempotencyInBatch] as const,
    request: { body: jsonBody(SendBody) },
    responses: { 201: jsonContent(Notification, "Accepted for delivery"), ...errorResponses(400, 401, 403, 409, 422, 429) },
  }),
  async (c) => c.json(await sendNotification(c.env, sender(c), c.req.valid("json")), 201),
);

notificationsRouter.openapi(
  createRoute({
    method: "post",
    path: "/bulk",
    tags,
    summary: "Send up to 100 notifications; each is validated and reported on its own",
    description:
      "The same recipient rules as /send: one item this sender may not send refuses the request with 403 and its indexes. Every item is one message against the limits. " +
      "Accepts `Idempotency-Key` as /send does: a retry replays the first answer and sends nothing again.",
    security,
    middleware: [idempotencyInBatch] as const,
    request: { body: jsonBody(BulkBody) },
    responses: { 200: jsonContent(BulkResult, "Per-item results"), ...errorResponses(400, 401, 403, 409, 422, 429) },
  }),
  async (c) => c.json(await sendBulk(c.env, sender(c), c.req.valid("json").notifications), 200),
);

notificationsRouter.openapi(
  createRoute({
    method: "get",
    path: "/",
    tags,
    summary: "Your notification history, newest first (filter by status and channel)",
    security,
    request: { query: PaginationQuery.extend(ListQuery.shape) },
    responses: { 200: jsonContent(PaginatedSchema(Notification), "A page of notifications"), ...errorResponses(400, 401, 403) },
  }),
  async (c) => {
    const { status, channel, recipient_type, scope, ...page } = c.req.valid("query");
    return c.json(await listNotifications(c.env, currentUser(c), { status, channel: channel ?? recipient_type, scope }, page, publicRequestUrl(c.env, c.req.url)), 200);
  },
);

notificationsRouter.openapi(
  createRoute({
    method: "get",
    path: "/stats",
    tags,
    summary: "Counts by status, channel and priority, and the success rate",
    security,
    request: { query: StatsQuery },
    responses: { 200: jsonContent(Stats, "Statistics"), ...errorResponses(400, 401, 403) },
  }),
  async (c) => c.json(await notificationStats(c.env, currentUser(c), c.req.valid("query").scope), 200),
);

notificationsRouter.openapi(
  createRoute({
    method: "get",
    path: "/{id}",
    tags,
    summary: "One notification's delivery status",
    security,
    request: { params: NotificationIdParam },
    responses: { 200: jsonContent(Notification, "The notification"), ...errorResponses(401, 404) },
  }),
  async (c) => c.json(await getNotification(c.env, currentUser(c), c.req.valid("param").id), 200),
);
