import { createRoute } from "@hono/zod-openapi";
import { bearerSecurity, createRouter, errorResponses, jsonBody, jsonContent } from "../../lib/openapi";
import { requireAuth, requireRole } from "../../middleware/auth";
import { Settings, SettingsPatch } from "./settings.schemas";
import { readSettings, updateSettings } from "./settings.service";

const tags = ["Admin"];
export const settingsRouter = createRouter();
settingsRouter.use("*", requireAuth, requireRole("admin"));

settingsRouter.openapi(
  createRoute({
    method: "get",
    path: "/",
    tags,
    summary: "Site settings: voucher and advertisement costs (points) and advertisement day limits (days)",
    security: bearerSecurity,
    responses: { 200: jsonContent(Settings, "Settings"), ...errorResponses(401, 403) },
  }),
  async (c) => c.json(await readSettings(c.env), 200),
);

settingsRouter.openapi(
  createRoute({
    method: "patch",
    path: "/",
    tags,
    summary: "Change one or more settings (costs in points with at most two decimals; day limits in whole days)",
    security: bearerSecurity,
    request: { body: jsonBody(SettingsPatch) },
    responses: { 200: jsonContent(Settings, "Updated settings"), ...errorResponses(400, 401, 403) },
  }),
  async (c) => c.json(await updateSettings(c.env, c.req.valid("json")), 200),
);
