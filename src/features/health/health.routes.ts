import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { AppBindings } from "../../env";
import { createRouter, jsonContent } from "../../lib/openapi";
import { probeAuth } from "../../middleware/auth";
import { ApiKeyHeader, Component, Health, PublicComponent, PublicHealth, QueuesComponent } from "./health.schemas";
import { checkQueues, checkRedis, overallHealth, publicComponent } from "./health.service";

const tags = ["Health"];
const WHO_SEES_WHAT =
  "Anyone gets the status; an admin's access token (`Authorization: Bearer` or `Token`) or a valid `X-API-Key` also gets the detail. " +
  "Any other caller, including a signed-in non-admin and a missing, invalid or expired token or key, gets the public answer: never a 401, so load balancers can use it. Always 200.";
const NO_STORE = { "Cache-Control": "no-store" };

/** The detail is for admins and API keys; everyone else, whatever they sent, sees the status. */
const view = (c: Context<AppBindings>) => ({ detail: c.get("auth")?.role === "admin" || c.get("apiKey") !== undefined });

const componentRoute = (path: string, summary: string, detailed: z.ZodTypeAny, name: string) =>
  createRoute({
    method: "get",
    path,
    tags,
    summary,
    description: `${summary}. ${WHO_SEES_WHAT}`,
    middleware: [probeAuth] as const,
    request: { headers: ApiKeyHeader },
    responses: { 200: jsonContent(z.union([PublicComponent, detailed]), name) },
  });

/** Mounted at /api/v1/health. Health always answers 200 with `ok`, `degraded` or `misconfigured`: a 500 here would page people for a cache blip. */
export const healthRouter = createRouter();

healthRouter.openapi(
  createRoute({
    method: "get",
    path: "/",
    tags,
    summary: "Database, Redis and queues",
    description: `Overall health. ${WHO_SEES_WHAT}`,
    middleware: [probeAuth] as const,
    request: { headers: ApiKeyHeader },
    responses: { 200: jsonContent(z.union([PublicHealth, Health]), "Health: the public answer, or the detail for an admin or an API key") },
  }),
  async (c) => c.json((await overallHealth(c.env, view(c))) as z.infer<typeof Health>, 200, NO_STORE),
);
healthRouter.openapi(
  createRoute({ method: "get", path: "/live", tags, summary: "Liveness: the worker answers", responses: { 200: jsonContent(z.object({ status: z.literal("ok") }), "Alive") } }),
  (c) => c.json({ status: "ok" as const }, 200),
);
healthRouter.openapi(componentRoute("/redis", "Redis (the status cache)", Component, "Redis"), async (c) =>
  c.json(publicComponent(await checkRedis(c.env), view(c)), 200, NO_STORE),
);
healthRouter.openapi(componentRoute("/queues", "Queue consumers (the spec's Celery check)", QueuesComponent, "Queues"), async (c) => {
  const v = view(c);
  return c.json(publicComponent(await checkQueues(c.env, v), v), 200, NO_STORE);
});

/** The notification spec's root paths: /health/redis/ and /health/celery/. */
export const legacyHealthRouter = createRouter();
legacyHealthRouter.openapi(componentRoute("/redis", "Alias of /api/v1/health/redis", Component, "Redis"), async (c) =>
  c.json(publicComponent(await checkRedis(c.env), view(c)), 200, NO_STORE),
);
legacyHealthRouter.openapi(componentRoute("/celery", "Alias of /api/v1/health/queues", QueuesComponent, "Queues"), async (c) => {
  const v = view(c);
  return c.json(publicComponent(await checkQueues(c.env, v), v), 200, NO_STORE);
});
