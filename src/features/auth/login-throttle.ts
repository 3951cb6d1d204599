import type { Env } from "../../env";
import { ApiError, ErrorCode } from "../../lib/errors";
import { hitCounter, secondsLeft, type CounterState } from "../../lib/counters";

/**
 * Failed logins, counted in D1 over 15 minutes so the limit holds across locations:
 * - per account (the username as typed, without case): 10 — guessing one password from many
 *   addresses stops there, whatever the addresses;
 * - per address (IPv6 per /64): 30 — spraying many accounts from one address stops there.
 * Every attempt is counted before the password is checked (so concurrent guesses cannot all slip
 * under the limit), and a successful login gives its unit back: people behind one address (a
 * carrier NAT, an office) who know their passwords never use up each other's allowance.
 */
export const LOGIN_WINDOW_SECONDS = 15 * 60;
export const ACCOUNT_FAILURE_LIMIT = 10;
export const ADDRESS_FAILURE_LIMIT = 30;

const accountKey = (username: string) => `login:account:${username.trim().toLowerCase()}`;
const addressKey = (address: string) => `login:address:${address}`;

export async function countLoginAttempt(env: Pick<Env, "DB">, username: string, address: string) {
  const now = new Date();
  const [account, byAddress] = await env.DB.batch<CounterState>([
    hitCounter(env.DB, accountKey(username), LOGIN_WINDOW_SECONDS, now),
    hitCounter(env.DB, addressKey(address), LOGIN_WINDOW_SECONDS, now),
  ]);
  const a = account!.results[0]!;
  const b = byAddress!.results[0]!;
  const waits: number[] = [];
  if (a.count > ACCOUNT_FAILURE_LIMIT) waits.push(secondsLeft(a.window_started_at, LOGIN_WINDOW_SECONDS, now));
  if (b.count > ADDRESS_FAILURE_LIMIT) waits.push(secondsLeft(b.window_started_at, LOGIN_WINDOW_SECONDS, now));
  if (waits.length > 0) {
    const wait = Math.max(...waits);
    throw new ApiError(
      429,
      ErrorCode.RATE_LIMITED,
      `Too many failed logins. Try again in ${Math.ceil(wait / 60)} minute(s).`,
      { retry_after_seconds: wait },
      { "Retry-After": String(wait) },
    );
  }
}

/** A successful login clears the account's failures and returns its unit to the address. */
export async function loginSucceeded(env: Pick<Env, "DB">, username: string, address: string) {
  await env.DB.batch([
    env.DB.prepare("DELETE FROM rate_counters WHERE key = ?").bind(accountKey(username)),
    env.DB.prepare("UPDATE rate_counters SET count = MAX(count - 1, 0) WHERE key = ?").bind(addressKey(address)),
  ]);
}
