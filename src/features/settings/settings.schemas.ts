import { z } from "@hono/zod-openapi";

const Points = z.union([z.string(), z.number().nonnegative()]).openapi({ example: "10.00" });

export const SettingsPatch = z
  .strictObject({
    voucher_cost: Points.optional(),
    advertisement_cost: Points.optional(),
    advertisement_extension_cost_per_day: Points.optional(),
  })
  .refine((body) => Object.keys(body).length > 0, "Send at least one setting to change.")
  .openapi("SiteSettingsUpdate");

export const Settings = z
  .object({
    voucher_cost: z.number().openapi({ example: 10.0 }),
    advertisement_cost: z.number().openapi({ example: 10.0 }),
    advertisement_extension_cost_per_day: z.number().openapi({ example: 1.0 }),
    updated_at: z.string().nullable(),
  })
  .openapi("SiteSettings");
