import { z } from "@hono/zod-openapi";

/** The subprotocol a client offers (beside `bearer.<access token>`) and the server answers with. */
export const EVENTS_PROTOCOL = "perks-edge";
export const BEARER_PREFIX = "bearer.";

/**
 * Close codes the server sends (RFC 6455 leaves 4000-4999 to applications). A client reconnects
 * with a fresh access token after 4001; after 4009 another of its own connections took the place
 * of this one.
 */
export const CloseCode = {
  TOKEN_EXPIRED: 4001,
  REPLACED: 4009,
} as const;

export const ActivationStatusEvent = z
  .object({
    type: z.literal("activation.status"),
    transaction_id: z.string(),
    status: z.enum(["PENDING", "SUCCESS", "FAILED"]),
    updated_at: z.string(),
  })
  .openapi("ActivationStatusEvent");

export const NotificationStatusEvent = z
  .object({
    type: z.literal("notification.status"),
    notification_id: z.string(),
    status: z.enum(["pending", "queued", "sent", "failed", "skipped"]),
    updated_at: z.string(),
  })
  .openapi("NotificationStatusEvent");

export type UserEvent = z.infer<typeof ActivationStatusEvent> | z.infer<typeof NotificationStatusEvent>;

/** What a client may send on the socket: a fresh access token, so it need not reconnect when the old one expires. */
export const ClientMessage = z.discriminatedUnion("type", [
  z.strictObject({ type: z.literal("renew"), token: z.string().min(1).max(4096) }),
  z.strictObject({ type: z.literal("ping") }),
]);

/** The upgrade request's headers: the token rides in the subprotocol list, since browsers cannot set Authorization. */
export const EventStreamHeaders = z.object({
  upgrade: z.string().optional().openapi({ example: "websocket" }),
  "sec-websocket-protocol": z.string().optional().openapi({ example: `${EVENTS_PROTOCOL}, ${BEARER_PREFIX}eyJhbGciOi...` }),
});
