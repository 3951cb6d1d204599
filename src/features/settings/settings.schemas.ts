import { z } from "@hono/zod-openapi";
import { DAY_LIMITS } from "./settings.service";

const Points = z.union([z.string(), z.number().nonnegative()]).openapi({ example: "10.00" });

export const SettingsPatch = z
  .strictObject({
    voucher_cost: Points.optional(),
    advertisement_cost: Points.optional(),
    advertisement_extension_cost_per_day: Points.optional(),
    advertisement_included_days: z
      .number()
      .int()
      .min(DAY_LIMITS.advertisement_included_days.min)
      .max(DAY_LIMITS.advertisement_included_days.max)
      .optional()
      .openapi({ description: "Days of running the creation fee covers; each further day costs advertisement_extension_cost_per_day", example: 30 }),
    advertisement_max_days: z
      .number()
      .int()
      .min(DAY_LIMITS.advertisement_max_days.min)
      .max(DAY_LIMITS.advertisement_max_days.max)
      .optional()
      .openapi({ description: "Longest an advertisement may run, counted from the later of its start and today", example: 366 }),
  })
  .refine((body) => Object.keys(body).length > 0, "Send at least one setting to change.")
  .openapi("SiteSettingsUpdate");

export const Settings = z
  .object({
    voucher_cost: z.number().openapi({ example: 10.0 }),
    advertisement_cost: z.number().openapi({ example: 10.0 }),
    advertisement_extension_cost_per_day: z.number().openapi({ example: 1.0 }),
    advertisement_included_days: z.number().int().openapi({ example: 30 }),
    advertisement_max_days: z.number().int().openapi({ example: 366 }),
    updated_at: z.string().nullable(),
  })
  .openapi("SiteSettings");
