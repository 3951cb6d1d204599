import { z } from "zod";

/** The X-Request-Id of the request that sent a message (added when it is queued), for the logs. */
const requestId = z.string().max(64).optional();

/** Ask the partner to activate a PENDING activation (sent by the request, the outbox relay and the sweep). */
export const ActivationRequested = z.object({
  type: z.literal("activation.requested"),
  transaction_id: z.string().min(1).max(64),
  request_id: requestId,
});

/** Tell the partner to cancel an activation we failed and refunded (it may have provisioned it). */
export const ActivationCancel = z.object({
  type: z.literal("activation.cancel"),
  transaction_id: z.string().min(1).max(64),
  request_id: requestId,
});

export const ActivationMessage = z.discriminatedUnion("type", [ActivationRequested, ActivationCancel]);

export const NotificationMessage = z.object({
  type: z.literal("notification.deliver"),
  notification_id: z.string().min(1).max(64),
  request_id: requestId,
});

/**
 * Every queue this worker produces to or consumes, as wrangler.toml declares them (a test checks
 * both ways), with the schema its messages must parse with. A queue's dead-letter queue carries
 * the same messages as the queue itself.
 */
export const QUEUES = {
  "perks-activations": ActivationMessage,
  "perks-activations-dlq": ActivationMessage,
  "perks-notifications": NotificationMessage,
  "perks-notifications-dlq": NotificationMessage,
} as const;

export type QueueName = keyof typeof QUEUES;
export const QUEUE_NAMES = Object.keys(QUEUES) as QueueName[];
export type MessageOf<Q extends QueueName> = z.infer<(typeof QUEUES)[Q]>;

/** Names by role, for code that sends or tests that deliver. */
export const QueueName = {
  activations: "perks-activations",
  activationsDeadLetter: "perks-activations-dlq",
  notifications: "perks-notifications",
  notificationsDeadLetter: "perks-notifications-dlq",
} as const satisfies Record<string, QueueName>;

export type ActivationMessage = z.infer<typeof ActivationMessage>;
export type NotificationMessage = z.infer<typeof NotificationMessage>;
/** Any message of any queue. */
export type QueueMessage = MessageOf<QueueName>;
