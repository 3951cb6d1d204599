import { z } from "@hono/zod-openapi";
import { NOTIFICATION_CATEGORIES, NOTIFICATION_CHANNELS, NOTIFICATION_PRIORITIES, NOTIFICATION_STATUSES } from "../../db/schema";

export const MAX_SCHEDULE_DAYS = 30;
export const MAX_BULK_ITEMS = 100;

const Channel = z.enum(NOTIFICATION_CHANNELS);
const Priority = z.enum(NOTIFICATION_PRIORITIES);
const Status = z.enum(NOTIFICATION_STATUSES);

/** Recipient and schedule are checked against the channel and the clock in the service. */
export const SendBody = z
  .strictObject({
    title: z.string().trim().min(1).max(200).openapi({ example: "Demo Notification" }),
    message: z.string().trim().min(1).max(4000).openapi({ example: "This is a test notification!" }),
    recipient_type: Channel.openapi({ example: "email" }),
    recipient: z.string().trim().min(1).max(254).openapi({ example: "demo@example.com" }),
    priority: Priority.default("normal").openapi({ example: "high", description: "`urgent` is for admins only" }),
    category: z
      .enum(["system", "promotional", "transactional"])
      .default("system")
      .openapi({ description: "`transactional` (admins only) and `urgent` messages carry no opt-out and ignore opt-outs and the daily cap" }),
    scheduled_at: z.iso
      .datetime({ offset: true, error: "must be an ISO 8601 time, like 2026-12-01T09:00:00Z" })
      .optional()
      .openapi({ description: `Deliver at this time (future, at most ${MAX_SCHEDULE_DAYS} days ahead)` }),
  })
  .openapi("NotificationSend");
export type SendBody = z.infer<typeof SendBody>;

export const BulkBody = z
  .strictObject({
    notifications: z
      .array(z.unknown())
      .min(1, "must contain at least one notification")
      .max(MAX_BULK_ITEMS, `may contain at most ${MAX_BULK_ITEMS} notifications`)
      .openapi({ type: "array", items: { $ref: "#/components/schemas/NotificationSend" } }),
  })
  .openapi("NotificationBulk");

export const Notification = z
  .object({
    id: z.string(),
    title: z.string(),
    message: z.string(),
    recipient_type: Channel,
    channel: Channel,
    recipient: z.string(),
    priority: Priority,
    category: z.enum(NOTIFICATION_CATEGORIES),
    status: Status,
    attempts: z.number().int(),
    last_error: z.string().nullable(),
    customer: z.number().int().nullable(),
    scheduled_at: z.string().nullable(),
    sent_at: z.string().nullable(),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .openapi("Notification");

export const BulkResult = z
  .object({
    total: z.number().int().openapi({ description: "Items in the request: `queued` + `pending` + `skipped` + `failed`" }),
    queued: z.number().int().openapi({ description: "Items whose message the delivery queue took" }),
    pending: z.number().int().openapi({ description: "Items stored `pending`: the cron sends them (scheduled beyond the queue's 12-hour delay, or the queue refused their message)" }),
    skipped: z.number().int().openapi({ description: "Items stored `skipped` and not sent (opted out, or the recipient's daily cap); the notification's `last_error` says why" }),
    failed: z.number().int().openapi({ description: "Invalid items, not written (`status: error`)" }),
    results: z.array(
      z.object({
        index: z.number().int(),
        status: z.enum(["queued", "pending", "skipped", "error"]).openapi({ description: "The item's notification status as written, or `error` for an invalid item" }),
        id: z.string().optional(),
        error: z.string().optional(),
      }),
    ),
  })
  .openapi("NotificationBulkResult");

const Scope = z.enum(["mine", "all"]).default("mine").openapi({ description: "`all` (admins only): every user's notifications" });

export const ListQuery = z.object({
  status: Status.optional(),
  channel: Channel.optional(),
  recipient_type: Channel.optional(),
  scope: Scope,
});

export const StatsQuery = z.object({ scope: Scope });

const counts = <T extends readonly [string, ...string[]]>(keys: T) =>
  z.object(Object.fromEntries(keys.map((k) => [k, z.number().int()])) as Record<T[number], z.ZodNumber>);

export const Stats = z
  .object({
    total: z.number().int(),
    by_status: counts(NOTIFICATION_STATUSES),
    by_channel: counts(NOTIFICATION_CHANNELS),
    by_priority: counts(NOTIFICATION_PRIORITIES),
    success_rate: z.number().openapi({ description: "sent / (sent + failed), percent with one decimal; 0 when none" }),
  })
  .openapi("NotificationStats");

export const NotificationIdParam = z.object({ id: z.string().min(1).max(64).openapi({ param: { name: "id", in: "path" } }) });

/** The opt-out link's signed token (see opt-out.ts). */
export const OptOutTokenParam = z.object({ token: z.string().min(1).max(1000).openapi({ param: { name: "token", in: "path" } }) });
export const OptedOut = z.object({ message: z.string(), channel: z.string(), recipient: z.string() }).openapi("OptOut");
