import { z } from "@hono/zod-openapi";
import { BACKLOG_COUNT_CAP, STUCK_AFTER_MINUTES } from "./health.service";

export const ComponentStatus = z.enum(["ok", "degraded", "disabled", "misconfigured"]);
export const Component = z
  .object({ status: ComponentStatus, latency_ms: z.number().optional(), detail: z.string().optional() })
  .passthrough()
  .openapi("HealthComponent");
export const QueuesComponent = Component.extend({
  backlog: z
    .object({
      stuck_activations: z.number().int(),
      stuck_notifications: z.number().int(),
      dead_letters: z.number().int().openapi({
        description: "Queue messages set aside because they could not be routed or parsed (`GET /api/v1/admin/dead-letters`); they do not degrade the status",
      }),
    })
    .optional()
    .openapi({ description: `Work waiting more than ${STUCK_AFTER_MINUTES} minutes, counted up to ${BACKLOG_COUNT_CAP} (${BACKLOG_COUNT_CAP} means at least that many)` }),
}).openapi("HealthQueues");
export const PublicComponent = z
  .object({ status: ComponentStatus })
  .strict()
  .openapi("HealthComponentPublic", { description: "What anyone sees: the status only." });

export const OverallStatus = z.enum(["ok", "degraded", "misconfigured"]).openapi({
  description: "`misconfigured`: a required setting is missing or malformed, or the database has no schema; `degraded`: a dependency is failing or work is stuck",
});
export const PublicHealth = z
  .object({ status: OverallStatus, timestamp: z.string() })
  .strict()
  .openapi("HealthPublic", { description: "What anyone sees: the overall status and the time." });
export const Health = z
  .object({
    status: OverallStatus,
    timestamp: z.string(),
    environment: z.string(),
    components: z.object({
      configuration: Component.extend({ problems: z.array(z.string()).optional().openapi({ description: "The missing or malformed settings, by name" }) }),
      database: Component,
      redis: Component,
      queues: QueuesComponent,
    }),
  })
  .openapi("Health", { description: "What an admin's access token or a valid X-API-Key sees." });

export const ApiKeyHeader = z.object({
  "x-api-key": z.string().optional().openapi({ description: "An API key issued by an admin: a valid one shows the detail; an invalid one is ignored here (the public answer)." }),
});
