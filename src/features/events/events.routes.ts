import { createRoute } from "@hono/zod-openapi";
import { ApiError, ErrorCode, unauthenticated } from "../../lib/errors";
import { verifyToken, type AccessClaims } from "../../lib/jwt";
import { createRouter, errorResponses } from "../../lib/openapi";
import { isUserActive } from "../../middleware/active-users";
import { API_KEY_PROTOCOL_PREFIX } from "../../middleware/api-key";
import { ActivationStatusEvent, BEARER_PREFIX, CloseCode, EVENTS_PROTOCOL, EventStreamHeaders, NotificationStatusEvent } from "./events.schemas";
import { userEventsObject } from "./publish";

const DESCRIPTION = `Upgrades to a WebSocket that receives the caller's status changes as JSON text messages:
\`{"type":"activation.status","transaction_id","status","updated_at"}\` (PENDING, SUCCESS, FAILED) and
\`{"type":"notification.status","notification_id","status","updated_at"}\` (queued, sent, failed, skipped).
The first message is \`{"type":"connected","expires_at"}\`.

Browsers cannot set headers on a WebSocket, so the access token travels as a subprotocol: offer
\`${EVENTS_PROTOCOL}\` and \`${BEARER_PREFIX}<access token>\` (\`new WebSocket(url, ["${EVENTS_PROTOCOL}", "${BEARER_PREFIX}" + token])\`);
the server answers \`${EVENTS_PROTOCOL}\`. Other clients may send \`Authorization: Bearer <token>\` instead.
Where the server requires an API key (\`REQUIRE_API_KEY=true\`), a browser offers it the same way, as
\`${API_KEY_PROTOCOL_PREFIX}<key>\` beside the others; other clients send \`X-API-Key\`.

The socket lives as long as its token. Send \`{"type":"renew","token":"<fresh access token>"}\` to extend it
(answer \`{"type":"renewed","expires_at"}\`); \`{"type":"ping"}\` is answered \`{"type":"pong"}\`.
Close codes: ${CloseCode.TOKEN_EXPIRED} the token expired (reconnect with a fresh one); ${CloseCode.REPLACED} more than ten
connections were open for this user and this, the oldest, was closed. Events are a convenience:
the polling endpoints stay the source of truth, and an event missed while disconnected is not replayed.`;

/** Mounted at /api/v1/events. */
export const eventsRouter = createRouter();
// The message shapes are not a response body, but clients generate types from the document too.
eventsRouter.openAPIRegistry.register("ActivationStatusEvent", ActivationStatusEvent);
eventsRouter.openAPIRegistry.register("NotificationStatusEvent", NotificationStatusEvent);

eventsRouter.openapi(
  createRoute({
    method: "get",
    path: "/",
    tags: ["Events"],
    operationId: "openEventStream",
    summary: "Live status: a WebSocket with the caller's activation and notification status changes",
    description: DESCRIPTION,
    security: [{ bearerAuth: [] }],
    request: {
      headers: EventStreamHeaders,
    },
    responses: {
      101: { description: "Switching protocols; the messages are ActivationStatusEvent and NotificationStatusEvent (see the schemas)" },
      ...errorResponses(400, 401, 426),
    },
  }),
  async (c) => {
    if (c.req.header("upgrade")?.toLowerCase() !== "websocket")
      throw new ApiError(426, ErrorCode.UPGRADE_REQUIRED, "This endpoint speaks WebSocket: send Upgrade: websocket.", undefined, { Upgrade: "websocket" });
    const offered = (c.req.header("sec-websocket-protocol") ?? "").split(",").map((p) => p.trim()).filter(Boolean);
    const fromProtocol = offered.find((p) => p.startsWith(BEARER_PREFIX))?.slice(BEARER_PREFIX.length);
    const fromHeader = /^(Bearer|Token)\s+(\S+)$/i.exec(c.req.header("authorization")?.trim() ?? "")?.[2];
    const token = fromProtocol || fromHeader;
    if (!token) throw unauthenticated(`Offer the "${BEARER_PREFIX}<access token>" subprotocol (or send Authorization: Bearer).`);
    // A browser fails a connection whose answered subprotocol it did not offer.
    if (offered.length > 0 && !offered.includes(EVENTS_PROTOCOL))
      throw new ApiError(400, ErrorCode.BAD_REQUEST, `Offer the "${EVENTS_PROTOCOL}" subprotocol beside the token.`);
    const claims = await verifyToken<AccessClaims>(c.env, "access", token);
    if (!claims) throw new ApiError(401, ErrorCode.TOKEN_INVALID, "The access token is invalid or has expired.");
    if (!(await isUserActive(c.env, Number(claims.sub)))) throw new ApiError(401, ErrorCode.TOKEN_INVALID, "This account is deactivated; its tokens no longer work.");

    const userId = Number(claims.sub);
    // Only what the object needs crosses over: never the token itself.
    const headers = new Headers({ upgrade: "websocket", "x-user-id": String(userId), "x-token-exp": String(claims.exp) });
    if (offered.length > 0) headers.set("x-protocol", EVENTS_PROTOCOL);
    return userEventsObject(c.env, userId).fetch(new Request("https://user-events.internal/connect", { headers }));
  },
);
