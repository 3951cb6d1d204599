import type { Env } from "../../env";
import { ApiError, ErrorCode } from "../../lib/errors";
import { secondsLeft, takeFromCounter } from "../../lib/counters";
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

/** Takes `n` messages from the account's hourly allowance, or answers 429 with Retry-After. */
export async function takeSenderBudget(env: Pick<Env, "DB" | "SENDER_HOURLY_MESSAGE_LIMIT">, userId: number, n: number) {
  if (n <= 0) return;
  const limit = senderHourlyLimit(env);
  const key = `messages:sender:${userId}`;
  const now = new Date();
  const taken = await takeFromCounter(env.DB, key, n, limit, HOUR, now).first();
  if (taken) return;
  const row = await env.DB.prepare("SELECT window_started_at FROM rate_counters WHERE key = ?").bind(key).first<{ window_started_at: string }>();
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

/** One counter statement per message: a row back means the recipient may still get it today. */
export function recipientDailyStatement(env: Pick<Env, "DB" | "RECIPIENT_DAILY_MESSAGE_LIMIT">, channel: string, recipient: string, now: Date) {
  const day = now.toISOString().slice(0, 10);
  return takeFromCounter(env.DB, `messages:recipient:${recipientKey(channel, recipient)}:${day}`, 1, recipientDailyLimit(env), DAY, now);
}

export const RECIPIENT_LIMIT_REACHED = "recipient daily message limit reached";
