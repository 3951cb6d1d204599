import type { Env } from "../../env";
import { checkConfiguration } from "../../config";
import { getRedis } from "../../lib/redis";

export type ComponentStatus = { status: "ok" | "degraded" | "disabled" | "misconfigured"; latency_ms?: number; detail?: string };

const STUCK_AFTER_MINUTES = 15;

async function timed(run: () => Promise<string | void>): Promise<ComponentStatus> {
  const started = Date.now();
  try {
    const detail = await run();
    return { status: "ok", latency_ms: Date.now() - started, ...(detail ? { detail } : {}) };
  } catch {
    return { status: "degraded", latency_ms: Date.now() - started, detail: "unreachable" };
  }
}

export const checkDatabase = (env: Env) => timed(async () => void (await env.DB.prepare("SELECT 1").first()));

export async function checkRedis(env: Env): Promise<ComponentStatus> {
  const redis = getRedis(env);
  if (!redis) return { status: "disabled", detail: "UPSTASH_REDIS_REST_URL is not configured; status is read from D1" };
  return timed(async () => {
    const pong = await redis.ping();
    if (pong !== "PONG") throw new Error("unexpected ping reply");
  });
}

/**
 * Queues have no ping. What matters to a user is whether work is flowing: messages waiting far
 * longer than the consumers need mean the consumers are stuck.
 */
export async function checkQueues(env: Env): Promise<ComponentStatus & { backlog?: Record<string, number> }> {
  if (!env.ACTIVATIONS || !env.NOTIFICATIONS) return { status: "degraded", detail: "queue bindings missing" };
  const cutoff = new Date(Date.now() - STUCK_AFTER_MINUTES * 60_000).toISOString();
  try {
    const [activations, notifications] = await env.DB.batch<{ n: number }>([
      env.DB.prepare("SELECT COUNT(*) AS n FROM transactions WHERE status = 'PENDING' AND type = 'ACTIVATION' AND created_at < ?").bind(cutoff),
      env.DB.prepare("SELECT COUNT(*) AS n FROM notifications WHERE status = 'queued' AND updated_at < ? AND (scheduled_at IS NULL OR scheduled_at < ?)").bind(cutoff, cutoff),
    ]);
    const backlog = { stuck_activations: activations!.results[0]!.n, stuck_notifications: notifications!.results[0]!.n };
    const stuck = backlog.stuck_activations + backlog.stuck_notifications > 0;
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

export async function overallHealth(env: Env) {
  const configuration = checkConfigurationHealth(env);
  const [database, redis, queues] = await Promise.all([checkDatabase(env), checkRedis(env), checkQueues(env)]);
  const status =
    configuration.status === "misconfigured" ? "misconfigured" : [database, redis, queues].some((c) => c.status === "degraded") ? "degraded" : "ok";
  return { status, timestamp: new Date().toISOString(), environment: env.ENVIRONMENT, components: { configuration, database, redis, queues } };
}
