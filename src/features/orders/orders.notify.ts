import type { Env } from "../../env";
import { formatAmount } from "../../lib/money";
import { renderUserText } from "../../lib/safe-text";
import { notifyMany, type NotifyInput } from "../notifications/notify";
import type { OrderStatus } from "./order-status";

export interface OrderForNotice {
  id: number;
  order_number: string;
  user_id: number;
  customer_id: number;
  total_amount: number;
  currency: string;
  tracking_number: string;
  customer_name: string;
  customer_email: string | null;
  customer_phone: string | null;
  customer_telegram_chat_id: string | null;
}

/**
 * One notification per channel the customer can be reached on; the engine stores the ones their
 * preferences refuse as `skipped`, so the history says why. The dedupe key is the order event
 * (creation or one status-history row), so a retried request notifies once.
 */
export async function notifyOrderEvent(env: Env, order: OrderForNotice, event: { key: string; from?: OrderStatus | null; to: OrderStatus }) {
  const created = !event.from;
  // The customer's name is user text: rendered without links or control characters.
  const name = renderUserText(order.customer_name, 60) || "there";
  const title = created ? `Order ${order.order_number} received` : `Order ${order.order_number} is ${event.to}`;
  const message = created
    ? `Hi ${name}, we received your order ${order.order_number} for ${order.currency} ${formatAmount(order.total_amount)}. Tracking number: ${order.tracking_number}.`
    : `Hi ${name}, your order ${order.order_number} moved from ${event.from} to ${event.to}. Tracking number: ${order.tracking_number}.`;
  const recipients: [NotifyInput["channel"], string | null][] = [
    ["email", order.customer_email],
    ["telegram", order.customer_telegram_chat_id],
    ["whatsapp", order.customer_phone],
  ];
  const inputs: NotifyInput[] = recipients.flatMap(([channel, recipient]) =>
    recipient
      ? [{
          userId: order.user_id,
          customerId: order.customer_id,
          channel,
          recipient,
          title,
          message,
          category: "order_update" as const,
          priority: event.to === "cancelled" ? ("high" as const) : ("normal" as const),
          dedupeKey: `order:${order.id}:${event.key}:${channel}`,
        }]
      : [],
  );
  return notifyMany(env, inputs);
}
