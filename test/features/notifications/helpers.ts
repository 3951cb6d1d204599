import { env } from "cloudflare:workers";
import worker from "../../../src/index";
import { QueueName } from "../../../src/queues/messages";
import type { Env } from "../../../src/env";

/**
 * A notification row put straight into D1 (no queue message), so a test decides exactly which
 * deliveries happen: the worker's own queue consumer never sees these rows.
 */
export async function insertNotification(
  values: Partial<{ userId: number | null; customerId: number | null; channel: string; recipient: string; title: string; message: string; priority: string; category: string; status: string; scheduledAt: string | null }> = {},
) {
  const id = crypto.randomUUID();
  const now = new Date().toISOString();
  await env.DB.prepare(
    `INSERT INTO notifications (id, user_id, customer_id, channel, recipient, title, message, priority, category, status, scheduled_at, created_at, updated_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  )
    .bind(
      id, values.userId ?? null, values.customerId ?? null, values.channel ?? "email", values.recipient ?? "someone@example.test",
      values.title ?? "Hello", values.message ?? "A message", values.priority ?? "normal", values.category ?? "transactional",
      values.status ?? "queued", values.scheduledAt ?? null, now, now,
    )
    .run();
  return id;
}

export interface NotificationState {
  status: string;
  attempts: number;
  last_error: string | null;
  sent_at: string | null;
  provider_message_id: string | null;
  lease_until: string | null;
}

export const notificationRow = (id: string) =>
  env.DB.prepare("SELECT status, attempts, last_error, sent_at, provider_message_id, lease_until FROM notifications WHERE id = ?")
    .bind(id)
    .first<NotificationState>()
    .then((row) => row!);

export interface DeliveryOutcome {
  acked: number;
  retried: { delaySeconds?: number }[];
}

/**
 * Runs the worker's queue handler on a batch of delivery messages, with `overrides` on env.
 * The batch is a plain one that records ack() and retry({delaySeconds}) (the test harness's
 * getQueueResult does not keep the delay, and the backoff is what these tests check).
 */
export async function deliverNotifications(
  ids: string[],
  options: { overrides?: Partial<Env>; attempts?: number; queue?: string } = {},
): Promise<DeliveryOutcome> {
  const outcome: DeliveryOutcome = { acked: 0, retried: [] };
  const messages = ids.map((id, i) => ({
    id: `msg-${i}-${crypto.randomUUID()}`,
    timestamp: new Date(),
    attempts: options.attempts ?? 1,
    body: { type: "notification.deliver", notification_id: id },
    ack: () => void outcome.acked++,
    retry: (retryOptions?: { delaySeconds?: number }) => void outcome.retried.push({ delaySeconds: retryOptions?.delaySeconds }),
  }));
  const batch = { queue: options.queue ?? QueueName.notifications, messages, ackAll() {}, retryAll() {} } as unknown as MessageBatch<unknown>;
  await worker.queue(batch, { ...env, ...options.overrides } as Env);
  return outcome;
}

export const CREDENTIALS = {
  RESEND_API_KEY: "re_test_secret_key",
  EMAIL_FROM: "Perks <noreply@perks.test>",
  TELEGRAM_BOT_TOKEN: "123456:telegram-test-token",
  WHATSAPP_ACCESS_TOKEN: "wa-test-access-token",
  WHATSAPP_PHONE_NUMBER_ID: "1098765432",
} satisfies Partial<Env>;
