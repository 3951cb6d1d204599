import { registerCronJob } from "../../cron/jobs";
import { CRON } from "../../cron/schedules";
import { registerConsumer } from "../../queues/consumers";
import { QueueName } from "../../queues/messages";
import { handleActivationMessage } from "../activation/activation.consumer";
import { sweepPendingActivations } from "../activation/activation.sweep";
import { PARTNER_MAX_SKEW_SECONDS, PARTNER_NONCE_SOURCE } from "../partner/partner.auth";
import { runSubscriptionExpiry } from "./subscriptions.service";

registerConsumer(QueueName.activations, handleActivationMessage);
registerConsumer(QueueName.activationsDeadLetter, handleActivationMessage);

registerCronJob(CRON.frequent, { name: "subscription-expiry", run: (env, at) => runSubscriptionExpiry(env, at) });
registerCronJob(CRON.frequent, { name: "pending-activation-sweep", run: (env, at) => sweepPendingActivations(env, at) });
registerCronJob(CRON.frequent, {
  name: "partner-nonce-cleanup",
  // A nonce older than the accepted clock skew can no longer be replayed: its timestamp is refused first.
  run: async (env, at) => {
    const cutoff = new Date(at.getTime() - 2 * PARTNER_MAX_SKEW_SECONDS * 1000).toISOString();
    const deleted = await env.DB.prepare("DELETE FROM webhook_nonces WHERE source = ? AND created_at < ?").bind(PARTNER_NONCE_SOURCE, cutoff).run();
    return { deleted: deleted.meta.changes };
  },
});
