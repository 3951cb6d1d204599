// What this worker runs, in one place: HTTP requests, one consumer per queue, the cron jobs of
// each schedule, and the Durable Object classes. Read a request from src/app.ts (middleware, then
// the routers of src/routes.ts); a message from its queue's consumer below; a tick from its job.
import { createApp, rewriteAlias } from "./app";
import { env as startupEnv } from "cloudflare:workers";
import { checkConfiguration, configured } from "./config";
import type { Env } from "./env";
import { type CronTable, runCronJobs } from "./cron/jobs";
import { CRON } from "./cron/schedules";
import { pruneIdempotencyKeys } from "./cron/prune-idempotency-keys";
import { reconcileLedger } from "./cron/reconcile-ledger";
import { pruneCounters } from "./lib/counters";
import { dispatchQueueBatch, type QueueConsumers } from "./queues/consumers";
import { deactivateEndedAdvertisements } from "./features/advertisements/advertisements.service";
import { failExhaustedNotification, notificationDelivery } from "./features/notifications/notifications.consumer";
import { enqueueDueNotifications } from "./features/notifications/notifications.cron";
import { activationDelivery, failExhaustedActivation } from "./features/activation/activation.consumer";
import { relayActivationOutbox } from "./features/activation/activation.service";
import { sweepPendingActivations } from "./features/activation/activation.sweep";
import { prunePartnerNonces } from "./features/partner/partner.auth";
import { runSubscriptionExpiry } from "./features/offers/subscriptions.service";
import { expirePurchases } from "./features/voucher-purchase/expire-purchases";
import { BOOKMARK_HEADER, requestDb, sessionBookmark } from "./db/request-db";
import { liveAnswer } from "./features/health/health.live";
import { perRequestEnv } from "./lib/log";

export { WalletDurableObject } from "./features/wallet/wallet.durable-object";
export { UserEventsDurableObject } from "./features/events/user-events.durable-object";

export const app = createApp();

/**
 * Every queue of wrangler.toml and who consumes it (a queue missing here fails `tsc`). A message
 * that does not parse as its queue's schema never reaches these: it is kept in `dead_letters`.
 */
export const queueConsumers: QueueConsumers = {
  // The whole batch: ask the partner to activate each; a refusal fails and refunds, a 5xx or
  // timeout retries; the successes are completed together.
  "perks-activations": activationDelivery,
  // Retries exhausted: fail and refund once.
  "perks-activations-dlq": failExhaustedActivation,
  // The whole batch: claim the rows, send each through its channel's provider, record the outcomes.
  "perks-notifications": notificationDelivery,
  // Retries exhausted: the row ends `failed`.
  "perks-notifications-dlq": failExhaustedNotification,
};

/** Every cron schedule of wrangler.toml and its jobs, run in this order (each idempotent). */
export const cronJobs: CronTable = {
  [CRON.frequent]: [
    { name: "subscription-expiry", run: runSubscriptionExpiry },
    { name: "activation-outbox-relay", run: relayActivationOutbox },
    { name: "pending-activation-sweep", run: sweepPendingActivations },
    { name: "partner-nonce-cleanup", run: prunePartnerNonces },
    { name: "end-advertisements", run: deactivateEndedAdvertisements },
    { name: "expire-voucher-purchases", run: expirePurchases },
    { name: "enqueue-due-notifications", run: enqueueDueNotifications },
  ],
  [CRON.daily]: [
    { name: "reconcile-ledger", run: (env) => reconcileLedger(env) },
    { name: "prune-idempotency-keys", run: pruneIdempotencyKeys },
    { name: "prune-rate-counters", run: (env, at) => pruneCounters(env.DB, at) },
  ],
};

// Each entry sees the env checked once, with defaults filled in (src/config.ts).
export default {
  fetch: async (request, env, ctx) => {
    // Liveness probes before any middleware (the answer is the route's own; see liveAnswer).
    const live = liveAnswer(request);
    if (live) return live;
    // Every request reads through its own D1 session (replicas allowed, own writes visible).
    // The checked env is the prototype: one small object per request, not a copy of every binding.
    const checked = configured(env);
    const DB = requestDb(checked.DB, request);
    const requestEnv = perRequestEnv(checked);
    requestEnv.DB = DB;
    const response = await app.fetch(rewriteAlias(request), requestEnv, ctx);
    const bookmark = sessionBookmark(DB);
    if (!bookmark || response.status === 101) return response;
    // Responses from the cache or from fetch() are immutable: copy the headers when needed.
    try {
      response.headers.set(BOOKMARK_HEADER, bookmark);
      return response;
    } catch {
      const copy = new Response(response.body, response);
      copy.headers.set(BOOKMARK_HEADER, bookmark);
      return copy;
    }
  },
  queue: (batch, env) => dispatchQueueBatch(queueConsumers, batch, configured(env)),
  scheduled: async (controller, env) => {
    await runCronJobs(cronJobs, controller.cron, configured(env), new Date(controller.scheduledTime));
  },
} satisfies ExportedHandler<Env>;

// At startup (`wrangler dev`, a deploy), say at once what is missing instead of at the first login.
checkConfiguration(startupEnv as unknown as Env);
