import type { AuthContext, Env } from "../../env";
import { isUniqueViolation } from "../../lib/d1-errors";
import { ApiError, ErrorCode, conflict, notFound } from "../../lib/errors";
import { referenceCode } from "../../lib/ids";
import { formatAmount, parseAmount } from "../../lib/money";
import { pageWindow, paginated, type Pagination } from "../../lib/pagination";
import { nowIso } from "../../lib/time";
import { canMove, NEXT_STATUSES, type OrderStatus } from "./order-status";
import type { OrderCreate, OrderUpdate } from "./orders.schemas";
import { notifyOrderEvent, type OrderForNotice } from "./orders.notify";

type Caller = Pick<AuthContext, "userId" | "role">;

interface OrderRow extends OrderForNotice {
  status: OrderStatus;
  shipping_address: string;
  shipping_method: string;
  notes: string;
  created_at: string;
  updated_at: string;
}

const SELECT_ORDER = `SELECT o.id, o.order_number, o.user_id, o.customer_id, o.status, o.total_amount, o.currency,
  o.shipping_address, o.shipping_method, o.tracking_number, o.notes, o.created_at, o.updated_at,
  c.name AS customer_name, c.email AS customer_email, c.phone AS customer_phone, c.telegram_chat_id AS customer_telegram_chat_id
  FROM orders o JOIN customers c ON c.id = o.customer_id`;

export function toOrder(row: OrderRow) {
  return {
    id: row.id,
    order_number: row.order_number,
    customer: row.customer_id,
    customer_name: row.customer_name,
    customer_email: row.customer_email,
    status: row.status,
    total_amount: formatAmount(row.total_amount),
    currency: row.currency,
    shipping_address: row.shipping_address,
    shipping_method: row.shipping_method,
    tracking_number: row.tracking_number,
    notes: row.notes,
    created_at: row.created_at,
    updated_at: row.updated_at,
  };
}


/** A user sees their own orders, an admin every order; anything else is "not found". */
async function loadOrder(env: Env, caller: Caller, id: number): Promise<OrderRow> {
  const row = await env.DB.prepare(`${SELECT_ORDER} WHERE o.id = ?1 AND (?2 = 1 OR o.user_id = ?3)`)
    .bind(id, caller.role === "admin" ? 1 : 0, caller.userId)
    .first<OrderRow>();
  if (!row) throw notFound("Order");
  return row;
}

/**
 * The caller's customer record is the one with their profile email (created from the profile the
 * first time). The unique (owner, email) index makes concurrent first orders share one record.
 */
async function customerForCaller(env: Env, userId: number): Promise<number> {
  const find = () =>
    env.DB.prepare("SELECT id FROM customers WHERE owner_user_id = ? AND email IS ? ORDER BY id LIMIT 1").bind(userId, email).first<{ id: number }>();
  const user = await env.DB.prepare("SELECT username, email, first_name, last_name, phone FROM users WHERE id = ?")
    .bind(userId)
    .first<{ username: string; email: string | null; first_name: string; last_name: string; phone: string | null }>();
  if (!user) throw notFound("User");
  const email = user.email;
  const existing = await find();
  if (existing) return existing.id;
  const now = nowIso();
  const name = `${user.first_name} ${user.last_name}`.trim() || user.username;
  const created = await env.DB.prepare(
    `INSERT INTO customers (owner_user_id, name, email, phone, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)
     ON CONFLICT DO NOTHING RETURNING id`,
  )
    .bind(userId, name, email, user.phone, now, now)
    .first<{ id: number }>();
  const id = created?.id ?? (await find())?.id;
  if (!id) throw new Error("customer record could not be created");
  return id;
}

export async function createOrder(env: Env, caller: Caller, input: OrderCreate) {
  const totalAmount = parseAmount(input.total_amount, "total_amount");
  const customerId = await customerForCaller(env, caller.userId);
  const now = nowIso();
  const orderNumber = input.order_number ?? referenceCode("ORD", 10);
  let inserted: { id: number } | undefined;
  try {
    const [order] = await env.DB.batch<{ id: number }>([
      env.DB.prepare(
        `INSERT INTO orders (order_number, user_id, customer_id, status, total_amount, currency, shipping_address, shipping_method, tracking_number, notes, created_at, updated_at)
         VALUES (?, ?, ?, 'pending', ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
      ).bind(
        orderNumber, caller.userId, customerId, totalAmount, input.currency ?? "INR", input.shipping_address ?? "", input.shipping_method ?? "",
        referenceCode("TRK", 10), input.notes ?? "", now, now,
      ),
      env.DB.prepare(
        "INSERT INTO order_status_history (order_id, from_status, to_status, changed_by, created_at) SELECT id, NULL, 'pending', ?, ? FROM orders WHERE order_number = ?",
      ).bind(caller.userId, now, orderNumber),
    ]);
    inserted = order!.results[0];
  } catch (error) {
    if (isUniqueViolation(error, "orders.order_number")) throw conflict("An order with this order_number already exists.");
    throw error;
  }
  const row = await loadOrder(env, caller, inserted!.id);
  await notifyOrderEvent(env, row, { key: "created", to: "pending" });
  return toOrder(row);
}

export async function listOrders(env: Env, caller: Caller, page: Pagination, url: string, status?: OrderStatus) {
  const { limit, offset } = pageWindow(page);
  const where = "WHERE (?1 = 1 OR o.user_id = ?2) AND (?3 IS NULL OR o.status = ?3)";
  const args = [caller.role === "admin" ? 1 : 0, caller.userId, status ?? null];
  const [rows, total] = await env.DB.batch([
    env.DB.prepare(`${SELECT_ORDER} ${where} ORDER BY o.created_at DESC, o.id DESC LIMIT ?4 OFFSET ?5`).bind(...args, limit, offset),
    env.DB.prepare(`SELECT COUNT(*) AS n FROM orders o ${where}`).bind(...args),
  ]);
  return paginated(url, page, (total!.results[0] as { n: number }).n, (rows!.results as OrderRow[]).map(toOrder));
}

export const getOrder = async (env: Env, caller: Caller, id: number) => toOrder(await loadOrder(env, caller, id));

function refuseTransition(from: OrderStatus, to: OrderStatus): never {
  const allowed = NEXT_STATUSES[from];
  throw new ApiError(
    409,
    ErrorCode.INVALID_STATUS_TRANSITION,
    allowed.length ? `An order that is ${from} cannot become ${to}; it can become ${allowed.join(" or ")}.` : `An order that is ${from} cannot change status any more.`,
    { from, to, allowed },
  );
}

/**
 * Moves an order along the status machine and notifies the customer. The history row and the
 * status change commit together and only if the status is still `from`, so of two concurrent
 * changes one wins and the customer hears of it once. Asking for the current status is a no-op.
 */
export async function changeStatus(env: Env, caller: Caller, id: number, to: OrderStatus) {
  for (;;) {
    const order = await loadOrder(env, caller, id);
    const from = order.status;
    if (from === to) return toOrder(order);
    if (!canMove(from, to)) refuseTransition(from, to);
    const now = nowIso();
    const [history, update] = await env.DB.batch<{ id: number }>([
      env.DB.prepare(
        "INSERT INTO order_status_history (order_id, from_status, to_status, changed_by, created_at) SELECT id, status, ?, ?, ? FROM orders WHERE id = ? AND status = ? RETURNING id",
      ).bind(to, caller.userId, now, id, from),
      env.DB.prepare("UPDATE orders SET status = ?, updated_at = ? WHERE id = ? AND status = ?").bind(to, now, id, from),
    ]);
    if (update!.meta.changes !== 1) continue; // someone else moved it first: judge again from where it is now
    const changed = { ...order, status: to, updated_at: now };
    await notifyOrderEvent(env, changed, { key: `history:${history!.results[0]!.id}`, from, to });
    return toOrder(changed);
  }
}

export async function updateOrder(env: Env, caller: Caller, id: number, patch: OrderUpdate) {
  const order = await loadOrder(env, caller, id);
  // Refuse an impossible status before writing anything, so a 409 leaves the order untouched.
  if (patch.status && patch.status !== order.status && !canMove(order.status, patch.status)) refuseTransition(order.status, patch.status);
  const sets: string[] = [];
  const args: unknown[] = [];
  for (const [column, value] of [
    ["tracking_number", patch.tracking_number],
    ["notes", patch.notes],
    ["shipping_address", patch.shipping_address],
    ["shipping_method", patch.shipping_method],
  ] as const) {
    if (value === undefined) continue;
    sets.push(`${column} = ?`);
    args.push(value);
  }
  if (sets.length > 0) {
    try {
      await env.DB.prepare(`UPDATE orders SET ${sets.join(", ")}, updated_at = ? WHERE id = ?`).bind(...args, nowIso(), id).run();
    } catch (error) {
      if (isUniqueViolation(error, "orders.tracking_number")) throw conflict("Another order already has this tracking_number.");
      throw error;
    }
  }
  if (patch.status) return changeStatus(env, caller, id, patch.status);
  return getOrder(env, caller, id);
}

export async function deleteOrder(env: Env, caller: Caller, id: number) {
  await loadOrder(env, caller, id);
  await env.DB.batch([
    env.DB.prepare("DELETE FROM order_status_history WHERE order_id = ?").bind(id),
    env.DB.prepare("DELETE FROM orders WHERE id = ?").bind(id),
  ]);
}
