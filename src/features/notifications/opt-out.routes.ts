import { createRoute } from "@hono/zod-openapi";
import type { Env } from "../../env";
import { ApiError, ErrorCode } from "../../lib/errors";
import { createRouter, errorResponses, jsonContent } from "../../lib/openapi";
import { OptedOut, OptOutTokenParam } from "./notifications.schemas";
import { readOptOutToken, recordOptOut } from "./opt-out";

const tags = ["Notifications"];
/** Mounted at /api/v1/opt-out: the link at the end of every message a recipient may refuse. */
export const optOutRouter = createRouter();


const DONE = "You will no longer receive these messages here. Payment and security notices still arrive.";

async function optOut(env: Env, token: string) {
  const named = await readOptOutToken(env, token);
  if (!named) throw new ApiError(404, ErrorCode.NOT_FOUND, "This opt-out link is not valid.");
  await recordOptOut(env, named.channel, named.recipient);
  return { message: DONE, channel: named.channel, recipient: named.recipient };
}

for (const method of ["get", "post"] as const) {
  optOutRouter.openapi(
    createRoute({
      method,
      path: "/{token}",
      tags,
      summary: method === "get" ? "Opt out of non-transactional messages (the link in each message; no account needed)" : "One-click opt out (RFC 8058 style)",
      request: { params: OptOutTokenParam },
      responses: { 200: jsonContent(OptedOut, "Opted out"), ...errorResponses(404) },
    }),
    async (c) => c.json(await optOut(c.env, c.req.valid("param").token), 200),
  );
}
