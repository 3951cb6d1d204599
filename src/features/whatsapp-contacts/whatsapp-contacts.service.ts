import type { Env } from "../../env";
import { normalizePhone } from "../../lib/phone";
import { nowIso } from "../../lib/time";

export const MAX_CONTACTS_PER_SYNC = 500;
export const CONTACT_LIST_CAP = 2000;

interface ContactRow {
  id: number;
  name: string;
  phone_number: string;
  is_on_whatsapp: number | null;
}

const toContact = (r: ContactRow) => ({
  id: r.id,
  name: r.name,
  phone_number: r.phone_number,
  is_on_whatsapp: r.is_on_whatsapp === null ? null : Boolean(r.is_on_whatsapp),
});

/**
 * Upserts on (user_id, phone_number): a number already synced keeps its row and takes the new
 * name; duplicates within one request collapse to the last name given. `is_on_whatsapp` stays
 * null (unknown): the WhatsApp Cloud API has no endpoint that tells whether a number uses
 * WhatsApp, and guessing true would be a lie.
 */
export async function syncContacts(
  env: Pick<Env, "DB">,
  userId: number,
  input: { contacts: { name?: string; phone_number: string }[]; default_country_code?: string },
) {
  const merged = new Map<string, string>();
  const invalid: { name: string; phone_number: string; reason: string }[] = [];
  for (const contact of input.contacts) {
    const phone = normalizePhone(contact.phone_number, input.default_country_code);
    const name = (contact.name ?? "").trim();
    if (!phone) invalid.push({ name, phone_number: contact.phone_number, reason: "Not a valid phone number in international (E.164) form." });
    else merged.set(phone, name || merged.get(phone) || "");
  }
  const now = nowIso();
  const results = merged.size
    ? await env.DB.batch<ContactRow>(
        [...merged].map(([phone, name]) =>
          env.DB.prepare(
            `INSERT INTO whatsapp_contacts (user_id, name, phone_number, is_on_whatsapp, created_at, updated_at) VALUES (?, ?, ?, NULL, ?, ?)
             ON CONFLICT (user_id, phone_number) DO UPDATE SET name = CASE WHEN excluded.name = '' THEN whatsapp_contacts.name ELSE excluded.name END,
               updated_at = excluded.updated_at
             RETURNING id, name, phone_number, is_on_whatsapp`,
          ).bind(userId, name, phone, now, now),
        ),
      )
    : [];
  const contacts = results.map((r) => toContact(r.results[0]!));
  const onWhatsapp = contacts.filter((c) => c.is_on_whatsapp === true).length;
  return {
    message: `Synced ${contacts.length} contacts, ${onWhatsapp} on WhatsApp`,
    whatsapp_contacts: contacts,
    invalid_contacts: invalid,
  };
}

export async function listContacts(env: Pick<Env, "DB">, userId: number) {
  const { results } = await env.DB.prepare(
    `SELECT id, name, phone_number, is_on_whatsapp FROM whatsapp_contacts WHERE user_id = ? ORDER BY name COLLATE NOCASE, id LIMIT ${CONTACT_LIST_CAP}`,
  )
    .bind(userId)
    .all<ContactRow>();
  return results.map(toContact);
}
