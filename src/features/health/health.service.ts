import type { Env } from "../../env";
import { checkConfiguration } from "../../config";
import { missingTable } from "../../lib/d1-errors";
import { getRedis } from "../../lib/redis";

export type ComponentStatus = { status: "ok" | "degraded" | "disabled" | "misconfigured"; latency_ms?: number; detail?: string };

export const STUCK_AFTER_MINUTES = 15;

/** Times `run`: ok, or degraded ("unreachable") on a throw, unless `classify` names the failure. */
async function timed(run: () => Promise<string | void>, classify?: (error: unknown) => Omit<ComponentStatus, "latency_ms"> | null): Promise<ComponentStatus> {
  const started = Date.now();
  try {
    const detail = await run();
    return { status: "ok", latency_ms: Date.now() - started, ...(detail ? { detail } : {}) };
  } catch (error) {
    return { status: "degraded", detail: "unreachable", ...classify?.(error), latency_ms: Date.now() - started };
  }
}

/** Reads the first migration's table, so a database that was never migrated is `misconfigured`, not `ok`. */
export const checkDatabase = (env: Env) =>
  timed(
    async () => void (await env.DB.prepare("SELECT 1 FROM users LIMIT 1").first()),
    (error) => (missingTable(error) ? { status: "misconfigured", detail: "schema missing: apply the migrations" } : null),
  );

export async function checkRedis(env: Env): Promise<ComponentStatus> {
  const redis = getRedis(env);
  if (!redis) return { status: "disabled", detail: "UPSTASH_REDIS_REST_URL is not configured; status is read from D1" };
  return timed(async () => {
    const pong = await redis.ping();
    if (pong !== "PONG") throw new Error("unexpected ping reply");
  });
}

/** A backlog count stops here: enough to page someone, and the query never walks more index entries. */
export const BACKLOG_COUNT_CAP = 1000;

/**
 * The stuck-work queries, each a range of an index (`transactions (status, type, created_at)`,
 * `notifications (status, updated_at)`) read at most `?2` entries deep: `?1` is the cutoff.
 */
export const STUCK_WORK_SQL = {
  activations: "SELECT COUNT(*) AS n FROM (SELECT 1 FROM transactions WHERE status = 'PENDING' AND type = 'ACTIVATION' AND created_at < ?1 LIMIT ?2)",
  notifications:
    "SELECT COUNT(*) AS n FROM (SELECT 1 FROM notifications WHERE status = 'queued' AND updated_at < ?1 AND (scheduled_at IS NULL OR scheduled_at < ?1) LIMIT ?2)",
} as const;

/** Queue messages kept because nothing could route or parse them, until an admin dismisses them; `?1`: the cap. */
const DEAD_LETTERS_SQL = "SELECT COUNT(*) AS n FROM (SELECT 1 FROM dead_letters LIMIT ?1)";

export type QueuesStatus = ComponentStatus & { backlog?: { stuck_activations: number; stuck_notifications: number; dead_letters: number } };

/**
 * Queues have no ping. What matters to a user is whether work is flowing: messages waiting far
 * longer than the consumers need mean the consumers are stuck. Only the detailed view counts the
 * backlog (up to BACKLOG_COUNT_CAP); the public one only asks whether any work is stuck.
 */
export async function checkQueues(env: Env, view: { detail: boolean }): Promise<QueuesStatus> {
  if (!env.ACTIVATIONS || !env.NOTIFICATIONS) return { status: "degraded", detail: "queue bindings missing" };
  const cutoff = new Date(Date.now() - STUCK_AFTER_MINUTES * 60_000).toISOString();
  const limit = view.detail ? BACKLOG_COUNT_CAP : 1;
  try {
    const counts = [env.DB.prepare(STUCK_WORK_SQL.activations).bind(cutoff, limit), env.DB.prepare(STUCK_WORK_SQL.notifications).bind(cutoff, limit)];
    if (view.detail) counts.push(env.DB.prepare(DEAD_LETTERS_SQL).bind(limit));
    const [activations, notifications, deadLetters] = await env.DB.batch<{ n: number }>(counts);
    const stuck = activations!.results[0]!.n + notifications!.results[0]!.n > 0;
    if (!view.detail) return { status: stuck ? "degraded" : "ok" };
    // Dead letters do not degrade the status: they are a record of messages set aside, not work that is stuck.
    const backlog = { stuck_activations: activations!.results[0]!.n, stuck_notifications: notifications!.results[0]!.n, dead_letters: deadLetters!.results[0]!.n };
    return { status: stuck ? "degraded" : "ok", backlog, ...(stuck ? { detail: `work waiting more than ${STUCK_AFTER_MINUTES} minutes` } : {}) };
  } catch {
    return { status: "degraded", detail: "backlog unknown: database unreachable" };
  }
}

/** Missing or malformed vars and secrets, by name (never their values). */
export function checkConfigurationHealth(env: Env): ComponentStatus & { problems?: string[] } {
  const { problems } = checkConfiguration(env);
  return problems.length ? { status: "misconfigured", detail: `${problems.length} setting(s) missing or malformed`, problems } : { status: "ok" };
}

export type HealthStatus = "ok" | "degraded" | "misconfigured";

/**
 * The public view is the overall status and the time, nothing else: which component failed,
 * how much work is stuck, the environment and the names of missing settings are for admins and
 * API keys (`detail: true`).
 */
export async function overallHealth(env: Env, view: { detail: boolean }) {
  const configuration = checkConfigurationHealth(env);
  const [database, redis, queues] = await Promise.all([checkDatabase(env), checkRedis(env), checkQueues(env, view)]);
  const status: HealthStatus =
    [configuration, database].some((c) => c.status === "misconfigured") ? "misconfigured" : [database, redis, queues].some((c) => c.status === "degraded") ? "degraded" : "ok";
  const timestamp = new Date().toISOString();
  if (!view.detail) return { status, timestamp };
  return { status, timestamp, environment: env.ENVIRONMENT, components: { configuration, database, redis, queues } };
}

/** A component's public view: its status only. */
export const publicComponent = <T extends ComponentStatus>(component: T, view: { detail: boolean }): T | Pick<T, "status"> =>
  view.detail ? component : { status: component.status };
