import { z } from "@hono/zod-openapi";

const DAY = /^\d{4}-\d{2}-\d{2}$/;
const CalendarDay = z
  .string()
  .regex(DAY, "must be a date like 2024-12-31")
  .refine((s) => !Number.isNaN(Date.parse(`${s}T00:00:00Z`)) && new Date(`${s}T00:00:00Z`).toISOString().startsWith(s), "is not a real date")
  .openapi({ example: "2024-12-31" });
const Place = z.string().trim().min(1).max(100);

const adFields = {
  start_date: CalendarDay,
  end_date: CalendarDay,
  city: Place.openapi({ example: "Mumbai" }),
  state: Place.openapi({ example: "Maharashtra" }),
};

export const CreateAdJson = z
  .strictObject({ voucher: z.number().int().positive().openapi({ example: 1 }), ...adFields })
  .openapi("CreateAdvertisementRequest");

/** The multipart form: same fields as text, plus the banner file. */
export const CreateAdForm = z
  .strictObject({
    voucher: z.coerce.number().int().positive(),
    ...adFields,
    banner_image: z.any().optional().openapi({ type: "string", format: "binary", description: "PNG, JPEG, GIF or WebP, at most 2 MB" }),
  })
  .openapi("CreateAdvertisementForm");

export const CreateAdResponse = z
  .object({
    message: z.string(),
    advertisement_id: z.number().int(),
    voucher_title: z.string(),
    days: z.number().int().openapi({ description: "Days the ad runs, start and end included", example: 30 }),
    included_days: z.number().int().openapi({ description: "Days the creation fee covers", example: 30 }),
    extra_days: z.number().int().openapi({ description: "Days charged at the per-day rate on top of the fee", example: 0 }),
    cost_deducted: z.number().openapi({ example: 10.0 }),
    remaining_balance: z.number().openapi({ example: 90.0 }),
    transaction_note: z.string(),
  })
  .openapi("CreateAdvertisementResponse");

export const ExtendParams = z.object({ id: z.coerce.number().int().positive() });
export const ExtendBody = z.strictObject({ days: z.number().int().min(1).max(365).openapi({ example: 7 }) }).openapi("ExtendAdvertisementRequest");
export const ExtendResponse = z
  .object({
    message: z.string(),
    advertisement_id: z.number().int(),
    days_extended: z.number().int(),
    new_end_date: z.string(),
    cost_deducted: z.number(),
    remaining_balance: z.number(),
    transaction_note: z.string(),
  })
  .openapi("ExtendAdvertisementResponse");

export const Advertisement = z
  .object({
    id: z.number().int(),
    voucher_title: z.string(),
    merchant_name: z.string(),
    banner_image: z.string().nullable(),
    start_date: z.string(),
    end_date: z.string(),
    city: z.string(),
    state: z.string(),
  })
  .openapi("Advertisement");

export const LocationQuery = z
  .object({ city: z.string().trim().max(100).optional(), state: z.string().trim().max(100).optional() })
  .refine((q) => Boolean(q.city || q.state), "Give a city, a state, or both.");

export const ByLocationResponse = z
  .object({ advertisements: z.array(Advertisement), total_count: z.number().int(), location: z.string(), message: z.string() })
  .openapi("AdvertisementsByLocation");

export const AdvertisementList = z.array(Advertisement);
