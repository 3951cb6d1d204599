import { env } from "cloudflare:workers";
import { createScheduledController } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import worker, { cronJobs } from "../../src/index";
import { CRON } from "../../src/cron/schedules";
import wranglerToml from "../../wrangler.toml?raw";

describe("cron", () => {
  it("declares the same cron strings as wrangler.toml", () => {
    const declared = JSON.parse(/^crons = (\[.*\])$/m.exec(wranglerToml)![1]!) as string[];
    expect(declared.sort()).toEqual(Object.values(CRON).sort());
  });

  it("has jobs for every schedule, each named once", () => {
    for (const cron of Object.values(CRON)) {
      const names = cronJobs[cron].map((j) => j.name);
      expect(names.length).toBeGreaterThan(0);
      expect(new Set(names).size).toBe(names.length);
    }
  });

  it("an unknown cron string runs nothing and says so in the log", async () => {
    const errors: string[] = [];
    const original = console.error;
    console.error = (line: string) => void errors.push(String(line));
    try {
      await worker.scheduled(createScheduledController({ cron: "1 2 3 4 5", scheduledTime: Date.now() }), env);
    } finally {
      console.error = original;
    }
    expect(errors.filter((line) => line.includes("no cron jobs for this schedule"))).toHaveLength(1);
  });

  it("reconciles the ledger: a wallet whose balance disagrees with its ledger is reported", async () => {
    const now = new Date().toISOString();
    const user = await env.DB.prepare("INSERT INTO users (username, password_hash, created_at, updated_at) VALUES ('drifted', 'x', ?, ?) RETURNING id").bind(now, now).first<{ id: number }>();
    const controller = createScheduledController({ cron: CRON.daily, scheduledTime: Date.now() });
    const job = cronJobs[CRON.daily]!.find((j) => j.name === "reconcile-ledger")!;
    expect(await job.run(env, new Date())).toEqual({ mismatched_wallets: 0 });
    await env.DB.prepare("INSERT INTO wallets (user_id, balance, updated_at) VALUES (?, 500, ?)").bind(user!.id, now).run();
    expect(await job.run(env, new Date())).toEqual({ mismatched_wallets: 1 });
    // Through the worker's own scheduled handler: the daily schedule reaches the same job.
    const errors: string[] = [];
    const original = console.error;
    console.error = (line: string) => void errors.push(String(line));
    try {
      await worker.scheduled(controller, env);
    } finally {
      console.error = original;
    }
    expect(errors.some((line) => line.includes("wallet out of balance with ledger") && line.includes(`"user_id":${user!.id}`))).toBe(true);
    await env.DB.prepare("DELETE FROM wallets WHERE user_id = ?").bind(user!.id).run();
  });

  it("prunes stored Idempotency-Key answers older than a day, keeping recent ones", async () => {
    const at = new Date("2026-06-02T12:00:00Z");
    await env.DB.batch([
      env.DB.prepare("INSERT INTO idempotency_keys (scope, request_hash, state, created_at) VALUES ('prune:old', 'h', 'done', '2026-06-01 11:59:00')"),
      env.DB.prepare("INSERT INTO idempotency_keys (scope, request_hash, state, created_at) VALUES ('prune:new', 'h', 'done', '2026-06-01 12:01:00')"),
    ]);
    const job = cronJobs[CRON.daily]!.find((j) => j.name === "prune-idempotency-keys")!;
    expect(await job.run(env, at)).toEqual({ deleted: 1 });
    const left = await env.DB.prepare("SELECT scope FROM idempotency_keys WHERE scope LIKE 'prune:%'").all();
    expect(left.results).toEqual([{ scope: "prune:new" }]);
    expect(await job.run(env, at)).toEqual({ deleted: 0 });
  });
});
