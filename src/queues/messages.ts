import { z } from "zod";

/**
 * Every queue message, discriminated on `type`. Consumers parse with this schema, so a malformed
 * message is acknowledged and logged instead of being retried forever.
 */
export const ActivationMessage = z.object({
  type: z.literal("activation.requested"),
  transaction_id: z.string(),
});

export const NotificationMessage = z.object({
  type: z.literal("notification.deliver"),
  notification_id: z.string(),
});

export const QueueMessage = z.discriminatedUnion("type", [ActivationMessage, NotificationMessage]);
export type QueueMessage = z.infer<typeof QueueMessage>;
export type ActivationMessage = z.infer<typeof ActivationMessage>;
export type NotificationMessage = z.infer<typeof NotificationMessage>;

/** Queue names as wrangler.toml declares them. */
export const QueueName = {
  activations: "perks-activations",
  activationsDeadLetter: "perks-activations-dlq",
  notifications: "perks-notifications",
  notificationsDeadLetter: "perks-notifications-dlq",
} as const;
