import { z } from "@hono/zod-openapi";
import { SafeName } from "../../lib/safe-text";
import { normalizePhone } from "../../lib/phone";
import { TELEGRAM_CHAT } from "../notifications/recipients";

const Phone = z
  .string()
  .max(32)
  .refine((v) => normalizePhone(v) !== null, "must be a phone number in E.164 form, like +14155550123")
  .openapi({ example: "+1234567890" });
const TelegramChatId = z
  .string()
  .trim()
  .regex(TELEGRAM_CHAT, "must be a Telegram chat id (digits) or @channel")
  .openapi({ example: "123456789" });
const Text = (max: number) => z.string().trim().max(max);

const fields = {
  name: SafeName(200).min(1).openapi({ example: "John Doe", description: "No links or control characters: it appears in order notices" }),
  email: z.email().max(254).nullable().optional().openapi({ example: "john.doe@example.com" }),
  phone: Phone.nullable().optional(),
  telegram_chat_id: TelegramChatId.nullable().optional(),
  address: Text(500).optional().openapi({ example: "123 Main St" }),
  city: Text(100).optional().openapi({ example: "New York" }),
  country: Text(100).optional().openapi({ example: "USA" }),
  postal_code: Text(20).optional().openapi({ example: "10001" }),
};

export const CustomerCreate = z.strictObject(fields).openapi("CustomerCreate");
export const CustomerPatch = z.strictObject({ ...fields, name: fields.name.optional() }).openapi("CustomerUpdate");
export type CustomerCreate = z.infer<typeof CustomerCreate>;
export type CustomerPatch = z.infer<typeof CustomerPatch>;

export const Customer = z
  .object({
    id: z.number().int(),
    name: z.string(),
    email: z.string().nullable(),
    phone: z.string().nullable(),
    telegram_chat_id: z.string().nullable(),
    address: z.string(),
    city: z.string(),
    country: z.string(),
    postal_code: z.string(),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .openapi("Customer");

const flag = z.boolean();
export const PreferencesPatch = z
  .strictObject({
    email_enabled: flag.optional(),
    telegram_enabled: flag.optional(),
    whatsapp_enabled: flag.optional(),
    order_updates: flag.optional(),
    promotional: flag.optional(),
  })
  .openapi("NotificationPreferencesUpdate");
export type PreferencesPatch = z.infer<typeof PreferencesPatch>;

export const PreferencesResponse = z
  .object({
    customer: z.number().int(),
    email_enabled: flag,
    telegram_enabled: flag,
    whatsapp_enabled: flag,
    order_updates: flag,
    promotional: flag,
    updated_at: z.string().nullable(),
  })
  .openapi("NotificationPreferences");

export const CustomerIdParam = z.object({ id: z.coerce.number().int().positive().openapi({ param: { name: "id", in: "path" } }) });
