import { createRoute, z } from "@hono/zod-openapi";
import { createRouter, jsonContent } from "../../lib/openapi";
import { checkQueues, checkRedis, overallHealth } from "./health.service";

const tags = ["Health"];
const Component = z
  .object({ status: z.enum(["ok", "degraded", "disabled", "misconfigured"]), latency_ms: z.number().optional(), detail: z.string().optional() })
  .passthrough()
  .openapi("HealthComponent");
const Health = z
  .object({
    status: z.enum(["ok", "degraded", "misconfigured"]).openapi({
      description: "`misconfigured`: a required setting is missing or malformed (see components.configuration.problems); `degraded`: a dependency is failing",
    }),
    timestamp: z.string(),
    environment: z.string(),
    components: z.object({
      configuration: Component.extend({ problems: z.array(z.string()).optional() }),
      database: Component,
      redis: Component,
      queues: Component,
    }),
  })
  .openapi("Health");

/** Mounted at /api/v1/health. Health always answers 200 with `ok`, `degraded` or `misconfigured`: a 500 here would page people for a cache blip. */
export const healthRouter = createRouter();

healthRouter.openapi(
  createRoute({ method: "get", path: "/", tags, summary: "Database, Redis and queues", responses: { 200: jsonContent(Health, "Health") } }),
  async (c) => c.json((await overallHealth(c.env)) as z.infer<typeof Health>, 200),
);
healthRouter.openapi(
  createRoute({ method: "get", path: "/live", tags, summary: "Liveness: the worker answers", responses: { 200: jsonContent(z.object({ status: z.literal("ok") }), "Alive") } }),
  (c) => c.json({ status: "ok" as const }, 200),
);
healthRouter.openapi(
  createRoute({ method: "get", path: "/redis", tags, summary: "Redis (the status cache)", responses: { 200: jsonContent(Component, "Redis") } }),
  async (c) => c.json(await checkRedis(c.env), 200),
);
healthRouter.openapi(
  createRoute({ method: "get", path: "/queues", tags, summary: "Queue consumers (the spec's Celery check)", responses: { 200: jsonContent(Component, "Queues") } }),
  async (c) => c.json(await checkQueues(c.env), 200),
);

/** The notification spec's root paths: /health/redis/ and /health/celery/. */
export const legacyHealthRouter = createRouter();
legacyHealthRouter.openapi(
  createRoute({ method: "get", path: "/redis", tags, summary: "Alias of /api/v1/health/redis", responses: { 200: jsonContent(Component, "Redis") } }),
  async (c) => c.json(await checkRedis(c.env), 200),
);
legacyHealthRouter.openapi(
  createRoute({ method: "get", path: "/celery", tags, summary: "Alias of /api/v1/health/queues", responses: { 200: jsonContent(Component, "Queues") } }),
  async (c) => c.json(await checkQueues(c.env), 200),
);
