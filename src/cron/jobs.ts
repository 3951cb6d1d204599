import type { Env } from "../env";
import { withJobLog } from "../lib/log";
import type { CronSchedule } from "./schedules";

export type CronJob = { name: string; run: (env: Env, scheduledTime: Date) => Promise<unknown> };

/** The jobs of every schedule wrangler.toml declares: a schedule missing here fails `tsc`. */
export type CronTable = Record<CronSchedule, CronJob[]>;

const isSchedule = (table: CronTable, cron: string): cron is CronSchedule => Object.hasOwn(table, cron);

/**
 * Runs a schedule's jobs in order. Every job is idempotent: two runs for the same time change
 * nothing twice. One failing job does not stop the others; an unknown cron string is logged.
 */
export async function runCronJobs(table: CronTable, cron: string, env: Env, scheduledTime: Date): Promise<Record<string, unknown>> {
  if (!isSchedule(table, cron)) {
    console.error(JSON.stringify({ level: "error", msg: "no cron jobs for this schedule", cron }));
    return {};
  }
  const outcomes: Record<string, unknown> = {};
  for (const job of table[cron]) {
    try {
      outcomes[job.name] = await withJobLog(cron, job.name, () => job.run(env, scheduledTime));
    } catch (error) {
      console.error(JSON.stringify({ level: "error", msg: "cron job failed", job: job.name, error: String(error) }));
      outcomes[job.name] = { error: true };
    }
  }
  return outcomes;
}
