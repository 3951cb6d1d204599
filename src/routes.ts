import type { OpenAPIHono } from "@hono/zod-openapi";
import type { AppBindings } from "./env";
import { adminRouter } from "./features/admin/admin.routes";
import { authRouter } from "./features/auth/auth.routes";
import { healthRouter, legacyHealthRouter } from "./features/health/health.routes";

/** Where each feature's router is mounted. Add a line here when a feature lands. */
export const routes: { path: string; router: OpenAPIHono<AppBindings> }[] = [
  { path: "/api/v1/health", router: healthRouter },
  { path: "/health", router: legacyHealthRouter },
  { path: "/api/v1/auth", router: authRouter },
  { path: "/api/v1/admin", router: adminRouter },
];
