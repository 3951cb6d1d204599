import { exports } from "cloudflare:workers";
import { BASE } from "../../helpers/api";

export interface LiveSocket {
  status: number;
  protocol: string | null;
  ws: WebSocket;
  /** Every JSON message received so far, in order. */
  messages: any[];
  /** Resolves with the first message (already received or still to come) that matches. */
  next(match: (message: any) => boolean, timeoutMs?: number): Promise<any>;
  /** Resolves when the server closes the socket. */
  closed: Promise<{ code: number; reason: string }>;
}

/** Opens the events WebSocket through the whole worker, as a browser would (token as a subprotocol). */
export async function connect(token: string, protocols: string[] = ["perks-edge", `bearer.${token}`]): Promise<LiveSocket> {
  const response = await exports.default.fetch(
    new Request(`${BASE}/api/v1/events`, { headers: { upgrade: "websocket", "sec-websocket-protocol": protocols.join(", ") } }),
  );
  const ws = response.webSocket;
  if (!ws) throw new Error(`no WebSocket: ${response.status} ${await response.text()}`);
  ws.accept();
  const messages: any[] = [];
  const waiters: { match: (m: any) => boolean; resolve: (m: any) => void }[] = [];
  ws.addEventListener("message", (event) => {
    const message = JSON.parse(String(event.data));
    messages.push(message);
    for (const waiter of [...waiters])
      if (waiter.match(message)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(message);
      }
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.addEventListener("close", (event) => resolve({ code: event.code, reason: event.reason })));
  return {
    status: response.status,
    protocol: response.headers.get("sec-websocket-protocol"),
    ws,
    messages,
    closed,
    next(match, timeoutMs = 5_000) {
      const seen = messages.find(match);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no matching message within ${timeoutMs} ms; got ${JSON.stringify(messages)}`)), timeoutMs);
        waiters.push({ match, resolve: (m) => (clearTimeout(timer), resolve(m)) });
      });
    },
  };
}

export const activationEvent = (transactionId: string, status?: string) => (m: any) =>
  m.type === "activation.status" && m.transaction_id === transactionId && (!status || m.status === status);

/** A round trip on the socket: every event published before it was sent has been received. */
export async function roundTrip(socket: LiveSocket) {
  const before = socket.messages.filter((m) => m.type === "pong").length;
  socket.ws.send(JSON.stringify({ type: "ping" }));
  await socket.next(() => socket.messages.filter((m) => m.type === "pong").length > before);
}
