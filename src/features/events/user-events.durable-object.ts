import { DurableObject } from "cloudflare:workers";
import type { Env } from "../../env";
import { verifyToken, type AccessClaims } from "../../lib/jwt";
import { isUserActive } from "../../middleware/active-users";
import { ClientMessage, CloseCode, EVENTS_PROTOCOL, type UserEvent } from "./events.schemas";

/** Phone, laptop, a few tabs: beyond this, a new connection closes the oldest (a half-open one, usually). */
export const MAX_SOCKETS_PER_USER = 10;

/** Kept on each socket with serializeAttachment, so it survives hibernation. */
interface SocketInfo {
  userId: number;
  /** Unix seconds: the access token the socket was opened (or last renewed) with expires then. */
  exp: number;
  connectedAt: number;
}

const PING = JSON.stringify({ type: "ping" });
const PONG = JSON.stringify({ type: "pong" });

/**
 * One instance per user (named `user:<id>`), holding that user's sockets with the hibernation
 * API: between events the object is evicted from memory and the sockets stay open. Only the
 * events route reaches `fetch` (after verifying the token) and only this worker's publishers
 * call `publish`, both through the binding.
 */
export class UserEventsDurableObject extends DurableObject<Env> {
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    // Keep-alive pings are answered without waking the object.
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair(PING, PONG));
  }

  override async fetch(request: Request): Promise<Response> {
    const userId = Number(request.headers.get("x-user-id"));
    const exp = Number(request.headers.get("x-token-exp"));
    if (request.headers.get("upgrade")?.toLowerCase() !== "websocket" || !userId || !exp) return new Response(null, { status: 400 });

    const open = this.sockets();
    if (open.length >= MAX_SOCKETS_PER_USER) {
      const oldest = open.sort((a, b) => a.info.connectedAt - b.info.connectedAt).slice(0, open.length - MAX_SOCKETS_PER_USER + 1);
      for (const { ws } of oldest) closeQuietly(ws, CloseCode.REPLACED, "Too many connections: a newer one replaced this one.");
    }

    const { 0: client, 1: server } = new WebSocketPair();
    this.ctx.acceptWebSocket(server);
    server.serializeAttachment({ userId, exp, connectedAt: Date.now() } satisfies SocketInfo);
    server.send(JSON.stringify({ type: "connected", expires_at: new Date(exp * 1000).toISOString() }));
    await this.scheduleExpiry();
    // Answer the subprotocol only when the client offered subprotocols (the events route checked it offered ours).
    const headers: HeadersInit = request.headers.get("x-protocol") ? { "Sec-WebSocket-Protocol": EVENTS_PROTOCOL } : {};
    return new Response(null, { status: 101, webSocket: client, headers });
  }

  /**
   * Fans events out to every live socket of this user, each event its own message, in order
   * (a consumer that settled several of the user's rows at once sends them in one call); returns
   * how many sockets received them. One event alone is taken too: a worker version from before
   * events were grouped may still call it during a gradual deployment.
   */
  async publish(events: UserEvent[] | UserEvent): Promise<number> {
    const payloads = (Array.isArray(events) ? events : [events]).map((event) => JSON.stringify(event));
    let delivered = 0;
    for (const { ws, info } of this.sockets()) {
      if (expired(info)) {
        closeExpired(ws);
        continue;
      }
      try {
        for (const payload of payloads) ws.send(payload);
        delivered++;
      } catch {
        // A socket closing under us: its close handler cleans up.
      }
    }
    return delivered;
  }

  override async webSocketMessage(ws: WebSocket, raw: string | ArrayBuffer): Promise<void> {
    const info = ws.deserializeAttachment() as SocketInfo | null;
    if (!info || expired(info)) return closeExpired(ws);
    let parsed: unknown;
    try {
      parsed = typeof raw === "string" ? JSON.parse(raw) : null;
    } catch {
      parsed = null;
    }
    const message = ClientMessage.safeParse(parsed);
    if (!message.success) {
      ws.send(JSON.stringify({ type: "error", code: "UNKNOWN_MESSAGE", error: 'Send {"type":"renew","token":"<access token>"} or {"type":"ping"}.' }));
      return;
    }
    if (message.data.type === "ping") return ws.send(PONG);

    // Renewal: a fresh access token of the same user extends this socket's life.
    const claims = await verifyToken<AccessClaims>(this.env, "access", message.data.token);
    if (!claims || Number(claims.sub) !== info.userId || !(await isUserActive(this.env, info.userId))) {
      ws.send(JSON.stringify({ type: "error", code: "TOKEN_INVALID", error: "That access token is invalid, expired or belongs to someone else." }));
      return;
    }
    ws.serializeAttachment({ ...info, exp: Math.max(info.exp, claims.exp) } satisfies SocketInfo);
    ws.send(JSON.stringify({ type: "renewed", expires_at: new Date(Math.max(info.exp, claims.exp) * 1000).toISOString() }));
    await this.scheduleExpiry();
  }

  override async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    // The runtime has already answered the close frame (compatibility date after 2026-04-07);
    // closing again is a no-op kept for older runtimes.
    closeQuietly(ws, code === 1005 || code === 1006 || code === 1015 ? 1000 : code, reason);
  }

  override async webSocketError(ws: WebSocket): Promise<void> {
    closeQuietly(ws, 1011, "Socket error.");
  }

  /** Closes the sockets whose token has expired, then waits for the next expiry. */
  override async alarm(): Promise<void> {
    for (const { ws, info } of this.sockets()) if (expired(info)) closeExpired(ws);
    await this.scheduleExpiry();
  }

  private sockets(): { ws: WebSocket; info: SocketInfo }[] {
    const list: { ws: WebSocket; info: SocketInfo }[] = [];
    for (const ws of this.ctx.getWebSockets()) {
      if (ws.readyState !== WebSocket.OPEN) continue;
      const info = ws.deserializeAttachment() as SocketInfo | null;
      if (info) list.push({ ws, info });
    }
    return list;
  }

  private async scheduleExpiry(): Promise<void> {
    const next = Math.min(...this.sockets().map(({ info }) => info.exp));
    if (Number.isFinite(next)) await this.ctx.storage.setAlarm(next * 1000);
    else await this.ctx.storage.deleteAlarm();
  }
}

const expired = (info: SocketInfo) => info.exp * 1000 <= Date.now();

function closeExpired(ws: WebSocket) {
  closeQuietly(ws, CloseCode.TOKEN_EXPIRED, "The access token expired: reconnect with a fresh one.");
}

function closeQuietly(ws: WebSocket, code: number, reason: string) {
  try {
    ws.close(code, reason);
  } catch {
    // already closed
  }
}
