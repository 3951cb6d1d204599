import { z } from "@hono/zod-openapi";
import { MAX_CONTACTS_PER_SYNC } from "./whatsapp-contacts.service";

export const SyncBody = z
  .strictObject({
    contacts: z
      .array(z.strictObject({ name: z.string().max(150).optional(), phone_number: z.string().min(1).max(40) }))
      .min(1)
      .max(MAX_CONTACTS_PER_SYNC),
    default_country_code: z.string().regex(/^\d{1,4}$/).optional().openapi({ description: "For numbers written without +CC, e.g. \"91\"" }),
  })
  .openapi("SyncContactsRequest");

export const Contact = z
  .object({
    id: z.number().int(),
    name: z.string(),
    phone_number: z.string(),
    is_on_whatsapp: z.boolean().nullable().openapi({ description: "null = unknown (the WhatsApp Cloud API has no contact check)" }),
  })
  .openapi("WhatsAppContact");

export const SyncResponse = z
  .object({
    message: z.string(),
    whatsapp_contacts: z.array(Contact),
    invalid_contacts: z.array(z.object({ name: z.string(), phone_number: z.string(), reason: z.string() })),
  })
  .openapi("SyncContactsResponse");

export const ContactList = z.array(Contact);
