import type { AuthContext, Env } from "../../env";
import { NOTIFICATION_CHANNELS, NOTIFICATION_PRIORITIES, NOTIFICATION_STATUSES, type NOTIFICATION_CATEGORIES } from "../../db/schema";
import { describeZodError } from "../../lib/openapi";
import { ApiError, ErrorCode, forbidden, notFound, validationError } from "../../lib/errors";
import { normalizePhone } from "../../lib/phone";
import { pageWindow, paginated, type Pagination } from "../../lib/pagination";
import { addDays } from "../../lib/time";
import { NOTIFICATION_COLUMNS, notifyMany, type NotifyInput } from "./notify";
import type { StoredAnswer } from "../../lib/claim-in-batch";
import { replaceStoredAnswer } from "../../middleware/idempotency";
import { normalizeRecipient } from "./recipients";
import { MAX_SCHEDULE_DAYS, SendBody } from "./notifications.schemas";

type Caller = Pick<AuthContext, "userId" | "role">;
/** Who sends: admins and clients whose API key has `notifications:send` may reach anyone. */
export type Sender = Caller & { anyRecipient: boolean };
type Scope = "mine" | "all";

/** A notifications row as raw SQL returns it (snake_case). */
export interface NotificationRow {
  id: string;
  customer_id: number | null;
  channel: (typeof NOTIFICATION_CHANNELS)[number];
  recipient: string;
  title: string;
  message: string;
  priority: (typeof NOTIFICATION_PRIORITIES)[number];
  category: (typeof NOTIFICATION_CATEGORIES)[number];
  status: (typeof NOTIFICATION_STATUSES)[number];
  attempts: number;
  last_error: string | null;
  scheduled_at: string | null;
  sent_at: string | null;
  created_at: string;
  updated_at: string;
}

export function toNotification(row: NotificationRow) {
  return {
    id: row.id,
    title: row.title,
    message: row.message,
    recipient_type: row.channel,
    channel: row.channel,
    recipient: row.recipient,
    priority: row.priority,
    category: row.category,
    status: row.status,
    attempts: row.attempts,
    last_error: row.last_error,
    customer: row.customer_id,
    scheduled_at: row.scheduled_at,
    sent_at: row.sent_at,
    created_at: row.created_at,
    updated_at: row.updated_at,
  };
}

interface OwnContacts {
  email: string | null;
  phone: string | null;
}

const STRANGER =
  "You can send only to your own email address or phone number; sending to other recipients needs an admin or an API key with the notifications:send scope.";

/** Why this sender may not send this message, or null. */
function refusal(sender: Sender, own: OwnContacts, channel: SendBody["recipient_type"], recipient: string, body: SendBody): string | null {
  if (sender.role !== "admin" && (body.priority === "urgent" || body.category === "transactional"))
    return "Only admins can mark a message urgent or transactional.";
  if (sender.anyRecipient) return null;
  if (channel === "email" && own.email && own.email.toLowerCase() === recipient.toLowerCase()) return null;
  if (channel === "whatsapp" && own.phone && own.phone === recipient) return null;
  return STRANGER;
}

/** Raw SQL: it is on every plain user's send, and a drizzle client costs more CPU to build than this read. */
async function ownContacts(env: Env, userId: number): Promise<OwnContacts> {
  const row = await env.DB.prepare("SELECT email, phone FROM users WHERE id = ?").bind(userId).first<{ email: string | null; phone: string | null }>();
  return { email: row?.email ?? null, phone: row?.phone ? normalizePhone(row.phone) : null };
}

/** A manual send as the engine's input, or the sentence saying what is wrong with it. */
function toInput(caller: Caller, body: SendBody, now: number): { input: NotifyInput } | { error: string } {
  const recipient = normalizeRecipient(body.recipient_type, body.recipient);
  if ("error" in recipient) return { error: recipient.error };
  let scheduledAt: string | null = null;
  if (body.scheduled_at) {
    const at = new Date(body.scheduled_at);
    if (at.getTime() <= now) return { error: "scheduled_at must be in the future." };
    if (at.toISOString() > addDays(new Date(now), MAX_SCHEDULE_DAYS)) return { error: `scheduled_at may be at most ${MAX_SCHEDULE_DAYS} days ahead.` };
    scheduledAt = at.toISOString();
  }
  return {
    input: {
      userId: caller.userId,
      channel: body.recipient_type,
      recipient: recipient.value,
      title: body.title,
      message: body.message,
      priority: body.priority,
      category: body.category,
      scheduledAt,
    },
  };
}

async function loadRow(env: Env, id: string) {
  return env.DB.prepare(`SELECT ${NOTIFICATION_COLUMNS}, user_id FROM notifications WHERE id = ?`).bind(id).first<NotificationRow & { user_id: number | null }>();
}

export async function sendNotification(env: Env, sender: Sender, body: SendBody) {
  const checked = toInput(sender, body, Date.now());
  if ("error" in checked) throw validationError(checked.error);
  const own = sender.anyRecipient ? { email: null, phone: null } : await ownContacts(env, sender.userId);
  const refused = refusal(sender, own, checked.input.channel, checked.input.recipient, body);
  if (refused) throw forbidden(refused);
  // The allowance, the row and (with an Idempotency-Key) the claim and this answer are one batch;
  // the answer is the row as written.
  const [result] = await notifyMany(env, [checked.input], { senderUserId: sender.userId, answer: ([row]) => sendAnswer(row!) });
  const answer = toNotification(result!.row!);
  // The stored answer said `queued`; a replay must say what this answer says.
  if (result!.queueSendFailed) await replaceStoredAnswer(env, answer);
  return answer;
}

/** The 201 of a send, stored with its claim only when the row was written (a refused allowance writes none). */
function sendAnswer(row: NotificationRow): StoredAnswer {
  const decided = (column: "status" | "last_error") => ({ path: `$.${column}`, sql: `SELECT ${column} FROM notifications WHERE id = ?`, params: [row.id] });
  return {
    status: 201,
    body: toNotification(row),
    fill: [decided("status"), decided("last_error")],
    onlyIf: rowWritten(row.id),
  };
}

/**
 * Each item is validated on its own: the good ones are queued, the bad ones reported by index.
 * An item this sender may not send refuses the whole request (403, with the indexes), and the
 * accepted items count one message each against the sender's hourly allowance.
 */
export async function sendBulk(env: Env, sender: Sender, items: unknown[]) {
  const now = Date.now();
  const results: { index: number; status: "queued" | "error"; id?: string; error?: string }[] = [];
  const accepted: { index: number; input: NotifyInput; body: SendBody }[] = [];
  items.forEach((item, index) => {
    const parsed = SendBody.safeParse(item);
    if (!parsed.success) return results.push({ index, status: "error", error: describeZodError(parsed.error).message });
    const checked = toInput(sender, parsed.data, now);
    if ("error" in checked) return results.push({ index, status: "error", error: checked.error });
    accepted.push({ index, input: checked.input, body: parsed.data });
  });
  const own = sender.anyRecipient ? { email: null, phone: null } : await ownContacts(env, sender.userId);
  const refused = accepted.flatMap((a) => {
    const reason = refusal(sender, own, a.input.channel, a.input.recipient, a.body);
    return reason ? [{ index: a.index, reason }] : [];
  });
  if (refused.length > 0) {
    throw new ApiError(403, ErrorCode.FORBIDDEN, refused[0]!.reason, { refused_indexes: refused.map((r) => r.index) });
  }
  const answer = (ids: string[]) => ({
    total: items.length,
    queued: accepted.length,
    failed: items.length - accepted.length,
    results: [...results, ...accepted.map((a, i) => ({ index: a.index, status: "queued" as const, id: ids[i]! }))].sort((a, b) => a.index - b.index),
  });
  // As for one send: allowance, rows and (with an Idempotency-Key) claim and answer are one batch.
  const created = await notifyMany(env, accepted.map((a) => a.input), {
    senderUserId: sender.userId,
    answer: (planned) => ({ status: 200, body: answer(planned.map((row) => row.id)), onlyIf: rowWritten(planned[0]!.id) }),
  });
  return answer(created.map((c) => c.id));
}

/** The rows of one batch are written together or not at all (a refused allowance): one tells. */
const rowWritten = (id: string) => ({ sql: "EXISTS (SELECT 1 FROM notifications WHERE id = ?)", params: [id] });

function ownerFilter(caller: Caller, scope: Scope) {
  if (scope === "all" && caller.role !== "admin") throw forbidden("Only admins can see every user's notifications.");
  return { all: scope === "all" ? 1 : 0, userId: caller.userId };
}

export async function listNotifications(
  env: Env,
  caller: Caller,
  query: { status?: NotificationRow["status"]; channel?: NotificationRow["channel"]; scope: Scope },
  page: Pagination,
  url: string,
) {
  const owner = ownerFilter(caller, query.scope);
  const { limit, offset } = pageWindow(page);
  const where = "WHERE (?1 = 1 OR user_id = ?2) AND (?3 IS NULL OR status = ?3) AND (?4 IS NULL OR channel = ?4)";
  const args = [owner.all, owner.userId, query.status ?? null, query.channel ?? null];
  const [rows, total] = await env.DB.batch([
    env.DB.prepare(`SELECT ${NOTIFICATION_COLUMNS} FROM notifications ${where} ORDER BY created_at DESC, rowid DESC LIMIT ?5 OFFSET ?6`).bind(...args, limit, offset),
    env.DB.prepare(`SELECT COUNT(*) AS n FROM notifications ${where}`).bind(...args),
  ]);
  return paginated(url, page, (total!.results[0] as { n: number }).n, (rows!.results as NotificationRow[]).map(toNotification));
}

const zeros = <T extends readonly string[]>(keys: T) => Object.fromEntries(keys.map((k) => [k, 0])) as Record<T[number], number>;

export async function notificationStats(env: Env, caller: Caller, scope: Scope) {
  const owner = ownerFilter(caller, scope);
  const { results } = await env.DB.prepare(
    "SELECT status, channel, priority, COUNT(*) AS n FROM notifications WHERE (?1 = 1 OR user_id = ?2) GROUP BY status, channel, priority",
  )
    .bind(owner.all, owner.userId)
    .all<{ status: NotificationRow["status"]; channel: NotificationRow["channel"]; priority: NotificationRow["priority"]; n: number }>();
  const stats = {
    total: 0,
    by_status: zeros(NOTIFICATION_STATUSES),
    by_channel: zeros(NOTIFICATION_CHANNELS),
    by_priority: zeros(NOTIFICATION_PRIORITIES),
    success_rate: 0,
  };
  for (const row of results) {
    stats.total += row.n;
    stats.by_status[row.status] += row.n;
    stats.by_channel[row.channel] += row.n;
    stats.by_priority[row.priority] += row.n;
  }
  const finished = stats.by_status.sent + stats.by_status.failed;
  // Integer arithmetic, then one decimal: 2 of 3 is 66.7.
  stats.success_rate = finished === 0 ? 0 : Math.round((stats.by_status.sent * 1000) / finished) / 10;
  return stats;
}

export async function getNotification(env: Env, caller: Caller, id: string) {
  const row = await loadRow(env, id);
  if (!row || (caller.role !== "admin" && row.user_id !== caller.userId)) throw notFound("Notification");
  return toNotification(row);
}
