import { createApp, rewriteAlias } from "./app";
import type { Env } from "./env";
import { runScheduled } from "./cron/jobs";
import { handleQueueBatch } from "./queues/consumers";
import "./features/register-background";

export { WalletDurableObject } from "./features/wallet/wallet.durable-object";

export const app = createApp();

export default {
  fetch: (request, env, ctx) => app.fetch(rewriteAlias(request), env, ctx),
  queue: (batch, env) => handleQueueBatch(batch, env),
  scheduled: async (controller, env) => {
    await runScheduled(controller.cron, env, new Date(controller.scheduledTime));
  },
} satisfies ExportedHandler<Env>;
