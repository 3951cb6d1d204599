import type { Env } from "../../env";
import { ApiError, ErrorCode } from "../../lib/errors";
import { COUNT_IN_WINDOW_SQL, counterCutoff, hitCounterIf, secondsLeft, takeFromCounter } from "../../lib/counters";
import { recipientKey } from "./opt-out";

/**
 * Limits count messages, not requests: a bulk request of 100 is 100 messages. Counted in D1 so
 * they hold across locations and over an hour or a day (the rate-limit binding counts per
 * location over at most a minute).
 */
const HOUR = 3600;
const DAY = 86_400;

export const senderHourlyLimit = (env: Pick<Env, "SENDER_HOURLY_MESSAGE_LIMIT">) => Number(env.SENDER_HOURLY_MESSAGE_LIMIT) || 200;
export const recipientDailyLimit = (env: Pick<Env, "RECIPIENT_DAILY_MESSAGE_LIMIT">) => Number(env.RECIPIENT_DAILY_MESSAGE_LIMIT) || 20;

const senderKey = (userId: number) => `messages:sender:${userId}`;

/** Takes `n` messages from the account's hourly allowance, or answers 429 with Retry-After. */
export async function takeSenderBudget(env: Pick<Env, "DB" | "SENDER_HOURLY_MESSAGE_LIMIT">, userId: number, n: number) {
  if (n <= 0) return;
  const now = new Date();
  const taken = await takeFromCounter(env.DB, senderKey(userId), n, senderHourlyLimit(env), HOUR, now).first();
  if (!taken) await refuseSenderBudget(env, userId, n, now);
}

/**
 * The sender's allowance inside the batch that writes the messages: `room` (SQL and its
 * parameters) is true while `n` more fit, and guards every row; `take` counts them and goes last,
 * so every guard saw the count before it. A row back from `take` means the messages were taken;
 * none means nothing of the batch was written and the caller answers `refuseSenderBudget`.
 * `alsoRequired`, a condition on the whole request (the sender may reach these recipients), is
 * part of `room` and of `take`: when it fails, nothing is written and nothing is counted.
 */
export function senderBudgetInBatch(
  env: Pick<Env, "DB" | "SENDER_HOURLY_MESSAGE_LIMIT">,
  userId: number,
  n: number,
  now: Date,
  alsoRequired: { sql: string; params: unknown[] } = { sql: "1", params: [] },
) {
  const limit = senderHourlyLimit(env);
  return {
    room: {
      sql: `${COUNT_IN_WINDOW_SQL} + ? <= ? AND (${alsoRequired.sql})`,
      params: [senderKey(userId), counterCutoff(now, HOUR), n, limit, ...alsoRequired.params],
    },
    take: takeFromCounter(env.DB, senderKey(userId), n, limit, HOUR, now, alsoRequired),
  };
}

/** The 429 for a sender whose `n` messages did not fit, with the seconds until the window ends. */
export async function refuseSenderBudget(env: Pick<Env, "DB" | "SENDER_HOURLY_MESSAGE_LIMIT">, userId: number, n: number, now: Date): Promise<never> {
  const limit = senderHourlyLimit(env);
  const row = await env.DB.prepare("SELECT window_started_at FROM rate_counters WHERE key = ?").bind(senderKey(userId)).first<{ window_started_at: string }>();
  const wait = row ? secondsLeft(row.window_started_at, HOUR, now) : HOUR;
  throw new ApiError(
    429,
    ErrorCode.RATE_LIMITED,
    n > limit
      ? `At most ${limit} messages may be sent per hour; this request has ${n}.`
      : `This account has sent its ${limit} messages for this hour. Try again in ${Math.ceil(wait / 60)} minute(s).`,
    { limit, requested: n, retry_after_seconds: wait },
    { "Retry-After": String(wait) },
  );
}

const recipientDailyKey = (channel: string, recipient: string, now: Date) => `messages:recipient:${recipientKey(channel, recipient)}:${now.toISOString().slice(0, 10)}`;

/**
 * The recipient's daily cap inside the batch that writes the message: `full` (SQL and its
 * parameters) is true when the recipient already had the day's messages, and decides in the
 * row's INSERT whether it is `skipped`; `count(rowIsSent)` comes after that INSERT and counts the
 * message only when the row was written and not skipped, so a deduplicated retry uses nothing.
 */
export function recipientDailyInBatch(env: Pick<Env, "DB" | "RECIPIENT_DAILY_MESSAGE_LIMIT">, channel: string, recipient: string, now: Date) {
  const key = recipientDailyKey(channel, recipient, now);
  return {
    full: { sql: `${COUNT_IN_WINDOW_SQL} + 1 > ?`, params: [key, counterCutoff(now, DAY), recipientDailyLimit(env)] },
    count: (rowIsSent: { sql: string; params: unknown[] }) => hitCounterIf(env.DB, key, DAY, now, rowIsSent),
  };
}

export const RECIPIENT_LIMIT_REACHED = "recipient daily message limit reached";
