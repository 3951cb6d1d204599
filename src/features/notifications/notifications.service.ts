import type { AuthContext, Env } from "../../env";
import { NOTIFICATION_CHANNELS, NOTIFICATION_PRIORITIES, NOTIFICATION_STATUSES, type NOTIFICATION_CATEGORIES } from "../../db/schema";
import { describeZodError } from "../../lib/openapi";
import { ApiError, ErrorCode, forbidden, notFound, validationError } from "../../lib/errors";
import { pageWindow, paginated, type Pagination } from "../../lib/pagination";
import { addDays } from "../../lib/time";
import { NOTIFICATION_COLUMNS, notifyMany, type NotifyInput, type SenderRule } from "./notify";
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

const STRANGER =
  "You can send only to your own email address or phone number; sending to other recipients needs an admin or an API key with the notifications:send scope.";

/** Why this sender may not send a message of this kind (judged from the request alone), or null. */
function privilegeRefusal(sender: Sender, body: SendBody): string | null {
  return sender.role !== "admin" && (body.priority === "urgent" || body.category === "transactional")
    ? "Only admins can mark a message urgent or transactional."
    : null;
}

/**
 * True when `wanted` (a `[channel, recipient]` pair from json_each) is the sender's own contact:
 * their profile email in any letter case, or their phone. One parameter: the sender's id. Both
 * are compared as stored: registration and the profile accept only E.164 phones, the form a
 * whatsapp recipient is normalized to, and email recipients are ASCII, where SQLite's lower()
 * is exact. Any other channel (telegram) is never the sender's own.
 */
const IS_OWN_CONTACT = `EXISTS (SELECT 1 FROM users WHERE id = ? AND CASE json_extract(wanted.value, '$[0]')
  WHEN 'email' THEN lower(email) = lower(json_extract(wanted.value, '$[1]'))
  WHEN 'whatsapp' THEN phone = json_extract(wanted.value, '$[1]')
  ELSE 0 END)`;

const contactsOf = (inputs: NotifyInput[]) => inputs.map((input) => [input.channel, input.recipient]);

/** The positions in `inputs` of the recipients that are not the sender's own, in order (as SQL; read `position`). */
const strangersAmong = (env: Env, userId: number, inputs: NotifyInput[]) =>
  env.DB.prepare(`SELECT wanted.key AS position FROM json_each(?) AS wanted WHERE NOT ${IS_OWN_CONTACT} ORDER BY wanted.key`).bind(
    JSON.stringify(contactsOf(inputs)),
    userId,
  );

const positionsOf = (result: D1Result) => (result.results as { position: number }[]).map((row) => row.position);

/**
 * The anti-open-relay rule inside the send's own batch, for a sender without `anyRecipient`:
 * every row (and the allowance's take) is written only if every recipient is the sender's own
 * contact, as the profile says at the batch's time, so a changed email refuses the old one. When
 * the batch wrote nothing, `strangers` turns the positions that were not their own into the 403.
 */
function ownContactsOnly(env: Env, sender: Sender, inputs: NotifyInput[], strangers: (positions: number[]) => Error): SenderRule | undefined {
  if (sender.anyRecipient) return undefined;
  // Each distinct contact once: a bulk of a hundred to one address checks it once per row, not a hundred times.
  const distinct = `[${[...new Set(contactsOf(inputs).map((pair) => JSON.stringify(pair)))].join(",")}]`;
  return {
    holds: { sql: `NOT EXISTS (SELECT 1 FROM json_each(?) AS wanted WHERE NOT ${IS_OWN_CONTACT})`, params: [distinct, sender.userId] },
    explain: strangersAmong(env, sender.userId, inputs),
    refusal: (explained) => {
      const positions = positionsOf(explained);
      return positions.length > 0 ? strangers(positions) : null;
    },
  };
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
  const privileged = privilegeRefusal(sender, body);
  if (privileged) throw forbidden(privileged);
  // One round trip: the recipient rule, the allowance, the row and (with an Idempotency-Key) the
  // claim and this answer are one batch; the answer is the row as written.
  const [result] = await notifyMany(env, [checked.input], {
    sender: { userId: sender.userId, rule: ownContactsOnly(env, sender, [checked.input], () => forbidden(STRANGER)) },
    answer: ([row]) => sendAnswer(row!),
  });
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

/** What a bulk request says of an accepted item: its row's status as written and as the queue send left it. */
type BulkItemStatus = "queued" | "pending" | "skipped";
const asBulkItemStatus = (status: NotificationRow["status"]): BulkItemStatus => (status === "pending" || status === "skipped" ? status : "queued");

/**
 * Each item is validated on its own: the good ones are written, the bad ones reported by index.
 * An item this sender may not send refuses the whole request (403, with the indexes), and the
 * accepted items count one message each against the sender's hourly allowance. Each accepted item
 * is answered with its row's status, counted in `queued`, `pending` or `skipped`: `queued` only
 * when the queue took its message; `pending` when the cron will send it (a time beyond the
 * queue's delay, or a queue send that failed); `skipped` when it will not be sent (the row says why).
 */
export async function sendBulk(env: Env, sender: Sender, items: unknown[]) {
  const now = Date.now();
  const results: { index: number; status: BulkItemStatus | "error"; id?: string; error?: string }[] = [];
  const accepted: { index: number; input: NotifyInput; body: SendBody }[] = [];
  items.forEach((item, index) => {
    const parsed = SendBody.safeParse(item);
    if (!parsed.success) return results.push({ index, status: "error", error: describeZodError(parsed.error).message });
    const checked = toInput(sender, parsed.data, now);
    if ("error" in checked) return results.push({ index, status: "error", error: checked.error });
    accepted.push({ index, input: checked.input, body: parsed.data });
  });
  const inputs = accepted.map((a) => a.input);
  const privileged = accepted.flatMap((a) => {
    const reason = privilegeRefusal(sender, a.body);
    return reason ? [{ index: a.index, reason }] : [];
  });
  const strangerItem = (position: number) => ({ index: accepted[position]!.index, reason: STRANGER });
  if (privileged.length > 0) {
    // Refused before any write; the 403 still names every item refused, strangers too.
    const strangers = sender.anyRecipient ? [] : positionsOf(await strangersAmong(env, sender.userId, inputs).all());
    throw refusedItems([...privileged, ...strangers.map(strangerItem)]);
  }
  const answer = (rows: { id: string; status: NotificationRow["status"] }[]) => {
    const statuses = rows.map((row) => asBulkItemStatus(row.status));
    const count = (status: BulkItemStatus) => statuses.filter((s) => s === status).length;
    return {
      total: items.length,
      queued: count("queued"),
      pending: count("pending"),
      skipped: count("skipped"),
      failed: items.length - accepted.length,
      results: [...results, ...accepted.map((a, i) => ({ index: a.index, status: statuses[i]!, id: rows[i]!.id }))].sort((a, b) => a.index - b.index),
    };
  };
  // As for one send: recipient rule, allowance, rows and (with an Idempotency-Key) claim and answer
  // are one batch, and one stranger refuses every item.
  const created = await notifyMany(env, inputs, {
    sender: {
      userId: sender.userId,
      rule: ownContactsOnly(env, sender, inputs, (positions) => refusedItems(positions.map(strangerItem))),
    },
    answer: (planned) => bulkStoredAnswer(answer(planned), planned.map((row) => row.id)),
  });
  const answered = answer(created);
  // The stored answer said `queued` for the items whose queue send then failed; a replay must say what this one says.
  if (created.some((c) => c.queueSendFailed)) await replaceStoredAnswer(env, answered);
  return answered;
}

/**
 * The 200 of a bulk request as its batch decided it: each item's status, and the counts, are
 * read from the rows at the batch's end (the planned answer guesses `queued`/`pending` from the
 * schedule; the batch may have skipped an item), stored only when the rows were written.
 */
function bulkStoredAnswer(planned: { results: { id?: string }[] }, ids: string[]): StoredAnswer {
  const idsJson = JSON.stringify(ids);
  return {
    status: 200,
    body: planned,
    fillRow: {
      columns: {
        "$.queued": "COALESCE(SUM(status = 'queued'), 0)",
        "$.pending": "COALESCE(SUM(status = 'pending'), 0)",
        "$.skipped": "COALESCE(SUM(status = 'skipped'), 0)",
      },
      from: "FROM notifications WHERE id IN (SELECT value FROM json_each(?))",
      params: [idsJson],
    },
    fill: [
      {
        path: "$.results",
        // Every item in its place: an accepted one with its row's status, an invalid one as it was.
        sql: `json((SELECT json_group_array(json(item)) FROM (
                SELECT CASE WHEN n.status IS NULL THEN r.value ELSE json_set(r.value, '$.status', n.status) END AS item
                  FROM json_each(?) AS r LEFT JOIN notifications AS n ON n.id = json_extract(r.value, '$.id')
                 ORDER BY r.key)))`,
        params: [JSON.stringify(planned.results)],
      },
    ],
    onlyIf: rowWritten(ids[0]!),
  };
}

/**
 * The 403 of a bulk request: the first refused item's reason, and every refused item's index once
 * (an item refused twice keeps the reason listed first).
 */
function refusedItems(refused: { index: number; reason: string }[]) {
  const byIndex = new Map<number, string>();
  for (const { index, reason } of refused) if (!byIndex.has(index)) byIndex.set(index, reason);
  const indexes = [...byIndex.keys()].sort((a, b) => a - b);
  return new ApiError(403, ErrorCode.FORBIDDEN, byIndex.get(indexes[0]!)!, { refused_indexes: indexes });
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
