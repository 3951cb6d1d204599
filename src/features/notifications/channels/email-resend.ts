import type { Provider } from "./provider";
import { postToProvider } from "./provider";

export const RESEND_URL = "https://api.resend.com/emails";

/**
 * Resend's HTTP email API; `RESEND_API_KEY` and `EMAIL_FROM` come from secrets. Every attempt of
 * one notification carries the same `Idempotency-Key`, so a retry after Resend accepted the email
 * (the worker died before recording it) sends nothing twice; Resend keeps keys for 24 hours.
 */
export const resendEmail: Provider = {
  name: "resend",
  send: (env, message) =>
    postToProvider({
      label: "The email provider",
      url: RESEND_URL,
      headers: { Authorization: `Bearer ${env.RESEND_API_KEY}`, "Idempotency-Key": resendIdempotencyKey(message.id) },
      body: { from: env.EMAIL_FROM, to: [message.recipient], subject: message.title, text: message.message },
      secrets: [env.RESEND_API_KEY],
      readId: (json) => json?.id,
    }),
};

export const resendIdempotencyKey = (notificationId: string) => `notification/${notificationId}`;
