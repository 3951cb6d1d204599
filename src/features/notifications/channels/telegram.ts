import type { Provider } from "./provider";
import { postToProvider } from "./provider";

export const telegramUrl = (token: string) => `https://api.telegram.org/bot${token}/sendMessage`;

/**
 * Telegram Bot API `sendMessage`. The bot token is part of the URL, so it is scrubbed from errors.
 * Telegram takes no idempotency key: a worker that dies after Telegram accepted the message and
 * before the row is marked sent leads to one more send when the delivery lease ends.
 */
export const telegram: Provider = {
  name: "telegram",
  send: (env, message) =>
    postToProvider({
      label: "Telegram",
      url: telegramUrl(env.TELEGRAM_BOT_TOKEN ?? ""),
      headers: {},
      body: { chat_id: message.recipient, text: `${message.title}\n\n${message.message}` },
      secrets: [env.TELEGRAM_BOT_TOKEN],
      readId: (json) => json?.result?.message_id,
    }),
};
