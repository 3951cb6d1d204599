import { nowIso } from "../../../lib/time";
import type { Provider } from "./provider";

/**
 * Stands in for a channel without credentials (local `wrangler dev`): records the message in
 * `notification_outbox` and reports it sent, so the whole flow is visible without real sends.
 * The record is handed back, not written here: the consumer writes it with the "sent" status.
 * Keyed on the notification id, so a redelivery records it once.
 */
export const sandbox: Provider = {
  name: "sandbox",
  async send(env, message) {
    const record = env.DB.prepare(
      `INSERT INTO notification_outbox (notification_id, channel, recipient, title, message, created_at)
       VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (notification_id) DO NOTHING`,
    ).bind(message.id, message.channel, message.recipient, message.title, message.message, nowIso());
    return { ok: true, providerMessageId: `sandbox-${message.id}`, record };
  },
};
