import { createRoute } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { AppBindings } from "../../env";
import { publicRequestUrl } from "../../lib/public-url";
import { bearerSecurity, createRouter, errorResponses, jsonBody, jsonContent } from "../../lib/openapi";
import { PaginatedSchema, PaginationQuery } from "../../lib/pagination";
import { currentUser, requireAuth } from "../../middleware/auth";
import { idempotencyInBatch } from "../../middleware/idempotency";
import { failureCharged } from "../../middleware/rate-limit";
import { BulkBody, BulkResult, ListQuery, Notification, NotificationIdParam, SendBody, Stats, StatsQuery } from "./notifications.schemas";
import { getNotification, listNotifications, notificationStats, sendBulk, sendNotification } from "./notifications.service";

const tags = ["Notifications"];
const security = bearerSecurity;
export const notificationsRouter = createRouter();
notificationsRouter.use("*", requireAuth);
/**
 * The flood cap on requests (NOTIFY_LIMITER, per user, send and bulk together) counts only the
 * requests that send nothing new: refusals (400, 403, 409, 422, the allowance's 429), replays of an
 * Idempotency-Key and a bulk request none of whose items was written (all invalid). A request that writes
 * messages is already counted, exactly and across locations, by the sender's hourly allowance in
 * D1 (every message of it), so it makes no limiter call.
 */
const requestCap = failureCharged("NOTIFY_LIMITER", "notify");
const freshAnswer = (c: Context<AppBindings>, status: number) => c.res.status === status && c.res.headers.get("Idempotent-Replayed") !== "true";
notificationsRouter.use("/send", requestCap.around((c) => freshAnswer(c, 201)));
notificationsRouter.use(
  "/bulk",
  requestCap.around(async (c) => {
    if (!freshAnswer(c, 200)) return false;
    const { total, failed } = (await c.res.clone().json()) as { total: number; failed: number };
    return total > failed;
  }),
);

const REQUEST_CAP_TEXT =
  "The request cap (60 a minute per user, /send and /bulk together) counts only requests that write no message: refusals, Idempotency-Key replays and bulk requests with no valid item; " +
  "past it every /send and /bulk of the caller answers 429 with `Retry-After` until that time has passed.";

const STATUS_TEXT =
  "`queued`: the delivery queue took its message. `pending`: stored, and the cron (every 15 minutes) hands it to the queue later: once its time is within the queue's 12-hour delay, " +
  "or, when the queue refused its message, at the first run at least 5 minutes after the send that finds the queue taking messages again. " +
  "`skipped`: stored but not sent (the recipient opted out or reached the day's cap), with the reason in `last_error`.";

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
      `${REQUEST_CAP_TEXT} ` +
      "Accepts `Idempotency-Key`: the same key replays the first answer and one message is sent, however close behind the retries come; the same key with another body is 422. " +
      STATUS_TEXT,
    security,
    middleware: [idempotencyInBatch] as const,
    request: { body: jsonBody(SendBody) },
    responses: { 201: jsonContent(Notification, "Accepted: stored with the status it has now (`queued`, `pending` or `skipped`)"), ...errorResponses(400, 401, 403, 409, 422, 429) },
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
      "Each valid item is answered with its notification's status as /send answers it, and counted in `queued`, `pending` or `skipped` (invalid items: `error`, counted in `failed`). " +
      STATUS_TEXT +
      " Accepts `Idempotency-Key` as /send does: a retry replays the first answer and sends nothing again. " +
      REQUEST_CAP_TEXT,
    security,
    middleware: [idempotencyInBatch] as const,
    request: { body: jsonBody(BulkBody) },
    responses: { 200: jsonContent(BulkResult, "Per-item results and their counts"), ...errorResponses(400, 401, 403, 409, 422, 429) },
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
