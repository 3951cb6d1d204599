import type { Provider } from "./provider";
import { postToProvider } from "./provider";

export const WHATSAPP_API_VERSION = "v21.0";
export const whatsappUrl = (phoneNumberId: string) => `https://graph.facebook.com/${WHATSAPP_API_VERSION}/${phoneNumberId}/messages`;

/**
 * WhatsApp Cloud API text message; `to` is the E.164 number without its `+`. The API takes no
 * idempotency key: like Telegram, a worker dying between acceptance and the D1 update can send
 * one duplicate after the delivery lease.
 */
export const whatsappCloud: Provider = {
  name: "whatsapp-cloud",
  send: (env, message) =>
    postToProvider({
      label: "WhatsApp",
      url: whatsappUrl(env.WHATSAPP_PHONE_NUMBER_ID ?? ""),
      headers: { Authorization: `Bearer ${env.WHATSAPP_ACCESS_TOKEN}` },
      body: {
        messaging_product: "whatsapp",
        to: message.recipient.replace(/^\+/, ""),
        type: "text",
        text: { body: `${message.title}\n\n${message.message}` },
      },
      secrets: [env.WHATSAPP_ACCESS_TOKEN],
      readId: (json) => json?.messages?.[0]?.id,
    }),
};
