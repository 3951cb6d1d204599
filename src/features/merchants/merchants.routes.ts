import { createRoute } from "@hono/zod-openapi";
import { bearerSecurity, createRouter, errorResponses, jsonBody, jsonContent } from "../../lib/openapi";
import { currentUser, requireAuth, requireRole } from "../../middleware/auth";
import { MerchantIdParam, MerchantProfile, MerchantProfileBody, MerchantProfileCreated, MerchantProfilePatch } from "./merchants.schemas";
import { createMerchantProfile, getMerchantProfile, setMerchantActive, updateMerchantProfile } from "./merchants.service";

const tags = ["Merchants"];
export const merchantsRouter = createRouter();
merchantsRouter.use("*", requireAuth);

merchantsRouter.openapi(
  createRoute({
    method: "post",
    path: "/profile",
    tags,
    summary: "Create the caller's merchant profile; the caller becomes a merchant",
    description:
      "Merchant endpoints authorise by this profile, not by the token's role, so the caller can continue with the old token; fresh tokens (role merchant) are returned as a convenience.",
    security: bearerSecurity,
    request: { body: jsonBody(MerchantProfileBody) },
    responses: { 201: jsonContent(MerchantProfileCreated, "Profile created"), ...errorResponses(400, 401, 409) },
  }),
  async (c) => c.json(await createMerchantProfile(c.env, currentUser(c).userId, c.req.valid("json")), 201),
);

merchantsRouter.openapi(
  createRoute({
    method: "get",
    path: "/profile",
    tags,
    summary: "The caller's merchant profile",
    security: bearerSecurity,
    responses: { 200: jsonContent(MerchantProfile, "Profile"), ...errorResponses(401, 403) },
  }),
  async (c) => c.json(await getMerchantProfile(c.env, currentUser(c).userId), 200),
);

merchantsRouter.openapi(
  createRoute({
    method: "patch",
    path: "/profile",
    tags,
    summary: "Update the caller's merchant profile",
    security: bearerSecurity,
    request: { body: jsonBody(MerchantProfilePatch) },
    responses: { 200: jsonContent(MerchantProfile, "Updated profile"), ...errorResponses(400, 401, 403) },
  }),
  async (c) => c.json(await updateMerchantProfile(c.env, currentUser(c).userId, c.req.valid("json")), 200),
);

/** Mounted at /api/v1/admin/merchants. */
export const merchantsAdminRouter = createRouter();
merchantsAdminRouter.use("*", requireAuth, requireRole("admin"));

for (const [action, active] of [["deactivate", false], ["activate", true]] as const) {
  merchantsAdminRouter.openapi(
    createRoute({
      method: "post",
      path: `/{id}/${action}`,
      tags: ["Admin"],
      summary: active ? "Reactivate a merchant" : "Deactivate a merchant: its vouchers stop listing and selling, its scans stop working",
      security: bearerSecurity,
      request: { params: MerchantIdParam },
      responses: { 200: jsonContent(MerchantProfile, "Merchant"), ...errorResponses(401, 403, 404) },
    }),
    async (c) => c.json(await setMerchantActive(c.env, c.req.valid("param").id, active), 200),
  );
}
