import type { Env } from "../env";
import { CRON } from "./schedules";
import { pruneIdempotencyKeys } from "./prune-idempotency-keys";
import { reconcileLedger } from "./reconcile-ledger";

export type CronJob = { name: string; run: (env: Env, scheduledTime: Date) => Promise<unknown> };

/** Jobs per cron string. Every job is idempotent: two runs for the same time change nothing twice. */
export const cronJobs: Record<string, CronJob[]> = {
  [CRON.frequent]: [],
  [CRON.daily]: [
    { name: "reconcile-ledger", run: (env) => reconcileLedger(env) },
    { name: "prune-idempotency-keys", run: (env, at) => pruneIdempotencyKeys(env, at) },
  ],
};

export function registerCronJob(cron: string, job: CronJob) {
  (cronJobs[cron] ??= []).push(job);
}

export async function runScheduled(cron: string, env: Env, scheduledTime: Date) {
  const jobs = cronJobs[cron] ?? [];
  const outcomes: Record<string, unknown> = {};
  for (const job of jobs) {
    try {
      outcomes[job.name] = await job.run(env, scheduledTime);
    } catch (error) {
      // One failing job must not stop the others.
      console.error(JSON.stringify({ level: "error", msg: "cron job failed", job: job.name, error: String(error) }));
      outcomes[job.name] = { error: true };
    }
  }
  return outcomes;
}
