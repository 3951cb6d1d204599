import { z } from "@hono/zod-openapi";
import { isE164 } from "../../lib/phone";
import { SafeName } from "../../lib/safe-text";

const Text = (max: number) => z.string().trim().max(max);

export const MerchantProfileBody = z
  .strictObject({
    business_name: SafeName(200).min(1).openapi({ example: "Coffee Shop", description: "No links or control characters: it appears in messages to customers" }),
    category: Text(100).optional().openapi({ example: "Food & Beverage" }),
    phone: z.string().refine(isE164, "must be in E.164 form, like +919876543210").optional().openapi({ example: "+919876543210" }),
    address: Text(500).optional().openapi({ example: "12 MG Road" }),
    city: Text(100).optional().openapi({ example: "Mumbai" }),
    state: Text(100).optional().openapi({ example: "Maharashtra" }),
  })
  .openapi("MerchantProfileCreate");

export const MerchantProfilePatch = MerchantProfileBody.partial().openapi("MerchantProfileUpdate");

export const MerchantProfile = z
  .object({
    id: z.number().int(),
    user: z.number().int(),
    business_name: z.string(),
    category: z.string(),
    phone: z.string().nullable(),
    address: z.string(),
    city: z.string(),
    state: z.string(),
    is_active: z.boolean(),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .openapi("MerchantProfile");

export const MerchantProfileCreated = z
  .object({
    merchant: MerchantProfile,
    access: z.string().openapi({ description: "A fresh access token whose role is merchant" }),
    refresh: z.string(),
    access_expires_in: z.number().int(),
  })
  .openapi("MerchantProfileCreated");

export const MerchantIdParam = z.object({ id: z.coerce.number().int().positive() });
