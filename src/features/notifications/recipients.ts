import { z } from "@hono/zod-openapi";
import { normalizePhone } from "../../lib/phone";
import type { Channel } from "./channels/provider";

/** A numeric chat id (groups are negative) or a public `@channelusername`. */
export const TELEGRAM_CHAT = /^(-?\d{1,20}|@[A-Za-z][A-Za-z0-9_]{4,31})$/;
const email = z.email();

/** The recipient in the form the provider needs, or null with the reason a person can act on. */
export function normalizeRecipient(channel: Channel, recipient: string): { value: string } | { error: string } {
  const text = recipient.trim();
  if (channel === "email") {
    return email.safeParse(text).success && text.length <= 254 ? { value: text } : { error: "recipient must be an email address for recipient_type email." };
  }
  if (channel === "telegram") {
    return TELEGRAM_CHAT.test(text) ? { value: text } : { error: "recipient must be a Telegram chat id (digits) or @channel for recipient_type telegram." };
  }
  const phone = normalizePhone(text);
  return phone ? { value: phone } : { error: "recipient must be a phone number in E.164 form, like +14155550123, for recipient_type whatsapp." };
}
