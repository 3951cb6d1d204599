import { env } from "cloudflare:workers";
import { createScheduledController } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import worker, { cronJobs } from "../../src/index";
import { runCronJobs } from "../../src/cron/jobs";
import { CRON } from "../../src/cron/schedules";
import type { Env } from "../../src/env";
import { ABANDONED_REASON } from "../../src/features/activation/activation.sweep";
import { PARTNER_NONCE_SOURCE } from "../../src/features/partner/partner.auth";
import { QueueName } from "../../src/queues/messages";
import wranglerToml from "../../wrangler.toml?raw";
import { createUser, unique, walletState } from "../helpers/factories";
import { makeOffer, pendingActivation, refundsOf, txRow } from "../helpers/offer-factories";
import { dayString, daysFromNow, insertMerchant, insertPurchase, insertVoucher, redemptionRow } from "../helpers/voucher-factories";
import { deliverTo, recordingQueue } from "../faults/helpers";
import { insertNotification, notificationRow } from "../features/notifications/helpers";

const minutesAgo = (minutes: number, from = Date.now()) => new Date(from - minutes * 60_000).toISOString();

/** Runs `run` with console output captured: the worker logs one JSON line per cron job. */
async function captureLogs(run: () => Promise<unknown>) {
  const lines: string[] = [];
  const { log, warn, error } = console;
  console.log = console.warn = console.error = (line: unknown) => void lines.push(String(line));
  try {
    await run();
  } finally {
    Object.assign(console, { log, warn, error });
  }
  const json = lines.flatMap((line) => {
    try {
      return [JSON.parse(line) as Record<string, unknown>];
    } catch {
      return [];
    }
  });
  return { lines, jobLines: json.filter((l) => l.msg === "cron job"), failures: json.filter((l) => l.msg === "cron job failed") };
}

/** The subscription a test activation created, with its status. */
const subscriptionOf = (transactionId: string) =>
  env.DB.prepare("SELECT id, status, ends_at, expiry_notified_at FROM subscriptions WHERE transaction_id = ?")
    .bind(transactionId)
    .first<{ id: number; status: string; ends_at: string; expiry_notified_at: string | null }>();

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
    const { lines, jobLines } = await captureLogs(() => worker.scheduled(createScheduledController({ cron: "1 2 3 4 5", scheduledTime: Date.now() }), env));
    expect(lines.filter((line) => line.includes("no cron jobs for this schedule"))).toHaveLength(1);
    expect(jobLines).toEqual([]);
    expect(await runCronJobs(cronJobs, "1 2 3 4 5", env as unknown as Env, new Date())).toEqual({});
  });

  it("the frequent schedule, through the scheduled handler: every job runs in order and changes what it is for, once", async () => {
    const activations = recordingQueue<{ type: string; transaction_id: string }>();
    const notifications = recordingQueue<{ type: string; notification_id: string }>();
    const workerEnv = { ...env, ACTIVATIONS: activations, NOTIFICATIONS: notifications } as unknown as Env;
    const at = new Date();
    const user = await createUser({ balance: 10_000 });
    const offer = await makeOffer({ price: 2000 });

    // subscription-expiry: one subscription ends tomorrow (a notice), one ended an hour ago (expired).
    const endingSoon = await pendingActivation(user.id, offer.id);
    const ended = await pendingActivation(user.id, offer.id);
    await deliverTo(workerEnv, QueueName.activations, [endingSoon, ended].map((transaction_id) => ({ type: "activation.requested", transaction_id })));
    await env.DB.prepare("UPDATE subscriptions SET ends_at = ? WHERE transaction_id = ?").bind(daysFromNow(1), endingSoon).run();
    await env.DB.prepare("UPDATE subscriptions SET ends_at = ? WHERE transaction_id = ?").bind(minutesAgo(60, at.getTime()), ended).run();
    // activation-outbox-relay: an activation whose queue send was lost two minutes ago.
    const stranded = await pendingActivation(user.id, offer.id);
    // Its outbox row (written in the debit's batch, never consumed) dates from then.
    await env.DB.prepare("UPDATE activation_outbox SET created_at = ? WHERE transaction_id = ?").bind(minutesAgo(2, at.getTime()), stranded).run();
    // pending-activation-sweep: an activation pending for more than a day.
    const abandoned = await pendingActivation(user.id, offer.id);
    const dayAgo = minutesAgo(25 * 60, at.getTime());
    await env.DB.prepare("UPDATE transactions SET created_at = ?, updated_at = ? WHERE id = ?").bind(dayAgo, dayAgo, abandoned).run();
    // partner-nonce-cleanup: an old nonce goes, a fresh one stays.
    const [oldNonce, freshNonce] = [unique("old-nonce"), unique("fresh-nonce")];
    await env.DB.batch([
      env.DB.prepare("INSERT INTO webhook_nonces (nonce, source, created_at) VALUES (?, ?, ?)").bind(oldNonce, PARTNER_NONCE_SOURCE, minutesAgo(60, at.getTime())),
      env.DB.prepare("INSERT INTO webhook_nonces (nonce, source, created_at) VALUES (?, ?, ?)").bind(freshNonce, PARTNER_NONCE_SOURCE, at.toISOString()),
    ]);
    // end-advertisements: an ad whose last day was yesterday, and one running until next week.
    const merchant = await insertMerchant();
    const voucher = await insertVoucher(merchant);
    const insertAd = (start: string, end: string) =>
      env.DB.prepare("INSERT INTO advertisements (merchant_id, voucher_id, start_date, end_date, is_active, created_at, updated_at) VALUES (?, ?, ?, ?, 1, ?, ?) RETURNING id")
        .bind(merchant.merchantId, voucher.id, start, end, at.toISOString(), at.toISOString())
        .first<{ id: number }>();
    const endedAd = (await insertAd(dayString(-3), dayString(-1)))!.id;
    const runningAd = (await insertAd(dayString(-1), dayString(7)))!.id;
    // expire-voucher-purchases: one purchase past its expiry date, one still valid.
    const expiredPurchase = await insertPurchase(user, voucher, { expiryDate: minutesAgo(1, at.getTime()) });
    const validPurchase = await insertPurchase(user, voucher);
    // enqueue-due-notifications: a pending notification whose queue send failed ten minutes ago.
    const strandedNotice = await insertNotification({ userId: user.id, status: "pending" });
    await env.DB.prepare("UPDATE notifications SET created_at = ? WHERE id = ?").bind(minutesAgo(10, at.getTime()), strandedNotice).run();
    activations.sent.length = 0;
    notifications.sent.length = 0;

    const first = await captureLogs(() => worker.scheduled(createScheduledController({ cron: CRON.frequent, scheduledTime: at.getTime() }), workerEnv));

    // In the order of the table, each once, each done.
    expect(first.failures).toEqual([]);
    expect(first.jobLines.map((l) => [l.cron, l.job, l.outcome])).toEqual(cronJobs[CRON.frequent].map((j) => [CRON.frequent, j.name, "done"]));
    // subscription-expiry
    expect(await subscriptionOf(endingSoon)).toMatchObject({ status: "active", expiry_notified_at: at.toISOString() });
    expect((await subscriptionOf(ended))!.status).toBe("expired");
    const notice = await env.DB.prepare("SELECT COUNT(*) AS n FROM notifications WHERE dedupe_key LIKE ?")
      .bind(`subscription-expiry:${(await subscriptionOf(endingSoon))!.id}:%`)
      .first<{ n: number }>();
    expect(notice!.n).toBe(1);
    // activation-outbox-relay and pending-activation-sweep
    expect(activations.sent.filter((m) => m.type === "activation.requested").map((m) => m.transaction_id)).toEqual([stranded]);
    expect(activations.sent.filter((m) => m.type === "activation.cancel").map((m) => m.transaction_id)).toEqual([abandoned]);
    expect(await env.DB.prepare("SELECT COUNT(*) AS n FROM activation_outbox WHERE transaction_id = ?").bind(stranded).first("n")).toBe(0);
    expect(await txRow(abandoned)).toMatchObject({ status: "FAILED", failure_reason: ABANDONED_REASON });
    expect(await refundsOf(abandoned)).toEqual({ n: 1, total: 2000 });
    // partner-nonce-cleanup
    const nonces = await env.DB.prepare("SELECT nonce FROM webhook_nonces WHERE nonce IN (?, ?)").bind(oldNonce, freshNonce).all<{ nonce: string }>();
    expect(nonces.results.map((r) => r.nonce)).toEqual([freshNonce]);
    // end-advertisements
    const ads = await env.DB.prepare("SELECT id, is_active FROM advertisements WHERE id IN (?, ?) ORDER BY id").bind(endedAd, runningAd).all();
    expect(ads.results).toEqual([
      { id: endedAd, is_active: 0 },
      { id: runningAd, is_active: 1 },
    ]);
    // expire-voucher-purchases
    expect((await redemptionRow(expiredPurchase.id)).purchase_status).toBe("expired");
    expect((await redemptionRow(validPurchase.id)).purchase_status).toBe("purchased");
    // enqueue-due-notifications
    expect((await notificationRow(strandedNotice)).status).toBe("queued");
    expect(notifications.sent.map((m) => m.notification_id)).toContain(strandedNotice);

    // The same tick again, through the runner the handler calls: its summary says nothing changed twice.
    activations.sent.length = 0;
    notifications.sent.length = 0;
    let summary: Record<string, unknown> = {};
    const second = await captureLogs(async () => (summary = await runCronJobs(cronJobs, CRON.frequent, workerEnv, at)));
    expect(second.failures).toEqual([]);
    expect(Object.keys(summary)).toEqual(cronJobs[CRON.frequent].map((j) => j.name));
    expect(summary).toMatchObject({
      "subscription-expiry": { notified: 0, expired: 0 },
      "activation-outbox-relay": { relayed: 0, dropped: 0 },
      "pending-activation-sweep": { failed: 0, requeued: 0, completed: 0, cancels_resent: 0 },
      "partner-nonce-cleanup": { deleted: 0 },
      "end-advertisements": { deactivated: 0 },
      "expire-voucher-purchases": { expired: 0 },
      "enqueue-due-notifications": { enqueued: 0 },
    });
    expect(activations.sent).toEqual([]);
    expect(notifications.sent).toEqual([]);
    expect(await refundsOf(abandoned)).toEqual({ n: 1, total: 2000 });
    const state = await walletState(user.id);
    expect(state.balance).toBe(state.ledger_sum);
  });

  it("a failing job is logged and does not stop the jobs after it", async () => {
    const order: string[] = [];
    const table = {
      [CRON.frequent]: [
        { name: "first", run: async () => (order.push("first"), { done: 0 }) },
        { name: "broken", run: async () => Promise.reject(new Error("boom")) },
        { name: "last", run: async () => (order.push("last"), { done: 1 }) },
      ],
      [CRON.daily]: [],
    };
    let summary: Record<string, unknown> = {};
    const { failures, jobLines } = await captureLogs(async () => (summary = await runCronJobs(table, CRON.frequent, env as unknown as Env, new Date())));
    expect(order).toEqual(["first", "last"]);
    expect(summary).toEqual({ first: { done: 0 }, broken: { error: true }, last: { done: 1 } });
    expect(jobLines.map((l) => [l.job, l.outcome])).toEqual([
      ["first", "done"],
      ["broken", "error"],
      ["last", "done"],
    ]);
    expect(failures).toEqual([expect.objectContaining({ job: "broken", error: "Error: boom" })]);
  });

  it("the daily schedule, through the scheduled handler: reports a drifted wallet, prunes old idempotency answers and rate counters", async () => {
    const at = new Date();
    const now = at.toISOString();
    const sqliteTime = (d: Date) => d.toISOString().replace("T", " ").slice(0, 19);
    const user = await env.DB.prepare("INSERT INTO users (username, password_hash, created_at, updated_at) VALUES (?, 'x', ?, ?) RETURNING id")
      .bind(unique("drifted"), now, now)
      .first<{ id: number }>();
    await env.DB.prepare("INSERT INTO wallets (user_id, balance, updated_at) VALUES (?, 500, ?)").bind(user!.id, now).run();
    const [oldKey, newKey, oldCounter, newCounter] = [unique("daily:old"), unique("daily:new"), unique("counter:old"), unique("counter:new")];
    await env.DB.batch([
      env.DB.prepare("INSERT INTO idempotency_keys (scope, request_hash, state, created_at) VALUES (?, 'h', 'done', ?)").bind(oldKey, sqliteTime(new Date(at.getTime() - 25 * 3_600_000))),
      env.DB.prepare("INSERT INTO idempotency_keys (scope, request_hash, state, created_at) VALUES (?, 'h', 'done', ?)").bind(newKey, sqliteTime(new Date(at.getTime() - 3_600_000))),
      env.DB.prepare("INSERT INTO rate_counters (key, count, window_started_at) VALUES (?, 3, ?)").bind(oldCounter, minutesAgo(3 * 24 * 60, at.getTime())),
      env.DB.prepare("INSERT INTO rate_counters (key, count, window_started_at) VALUES (?, 3, ?)").bind(newCounter, minutesAgo(5, at.getTime())),
    ]);

    const { lines, jobLines, failures } = await captureLogs(() => worker.scheduled(createScheduledController({ cron: CRON.daily, scheduledTime: at.getTime() }), env));

    expect(failures).toEqual([]);
    expect(jobLines.map((l) => [l.cron, l.job, l.outcome])).toEqual(cronJobs[CRON.daily].map((j) => [CRON.daily, j.name, "done"]));
    const drift = lines.filter((line) => line.includes("wallet out of balance with ledger")).map((line) => JSON.parse(line));
    expect(drift).toEqual([expect.objectContaining({ user_id: user!.id, balance: 500, ledger_sum: 0 })]);
    const keys = await env.DB.prepare("SELECT scope FROM idempotency_keys WHERE scope IN (?, ?)").bind(oldKey, newKey).all<{ scope: string }>();
    expect(keys.results.map((r) => r.scope)).toEqual([newKey]);
    const counters = await env.DB.prepare("SELECT key FROM rate_counters WHERE key IN (?, ?)").bind(oldCounter, newCounter).all<{ key: string }>();
    expect(counters.results.map((r) => r.key)).toEqual([newCounter]);

    // Once the wallet agrees with its ledger again, the same run reports nothing and deletes nothing.
    await env.DB.prepare("DELETE FROM wallets WHERE user_id = ?").bind(user!.id).run();
    let summary: Record<string, unknown> = {};
    await captureLogs(async () => (summary = await runCronJobs(cronJobs, CRON.daily, env as unknown as Env, at)));
    expect(summary).toEqual({
      "reconcile-ledger": { mismatched_wallets: 0 },
      "prune-idempotency-keys": { deleted: 0 },
      "prune-rate-counters": { deleted: 0 },
    });
  });
});
