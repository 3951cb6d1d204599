import { env } from "cloudflare:workers";
import worker from "../../../src/index";
import { QueueName } from "../../../src/queues/messages";
import type { Env } from "../../../src/env";
import { createUser, unique } from "../../helpers/factories";

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

/** A customer (of a fresh owner) with these notification_preferences columns set; none set: no preferences row (the defaults). */
export async function customerWith(prefs: Record<string, number>) {
  const owner = await createUser();
  const now = new Date().toISOString();
  const row = await env.DB.prepare("INSERT INTO customers (owner_user_id, name, email, created_at, updated_at) VALUES (?, 'C', ?, ?, ?) RETURNING id")
    .bind(owner.id, `${unique("c")}@example.test`, now, now)
    .first<{ id: number }>();
  const columns = Object.keys(prefs);
  if (columns.length)
    await env.DB.prepare(`INSERT INTO notification_preferences (customer_id, ${columns.join(", ")}, updated_at) VALUES (?, ${columns.map(() => "?").join(", ")}, ?)`)
      .bind(row!.id, ...Object.values(prefs), now)
      .run();
  return row!.id;
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
  /** What became of each message, in the order given: "ack", a retry with its delay, or "none". */
  each: ("ack" | "none" | { retry: number | undefined })[];
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
  const outcome: DeliveryOutcome = { acked: 0, retried: [], each: ids.map(() => "none") };
  const messages = ids.map((id, i) => ({
    id: `msg-${i}-${crypto.randomUUID()}`,
    timestamp: new Date(),
    attempts: options.attempts ?? 1,
    body: { type: "notification.deliver", notification_id: id },
    ack: () => {
      outcome.acked++;
      outcome.each[i] = "ack";
    },
    retry: (retryOptions?: { delaySeconds?: number }) => {
      outcome.retried.push({ delaySeconds: retryOptions?.delaySeconds });
      outcome.each[i] = { retry: retryOptions?.delaySeconds };
    },
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
