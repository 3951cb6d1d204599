// The live-status flow: a WebSocket on /api/v1/events hears an activation settle, no polling.
// Node 22 has a global WebSocket client; the token travels as a subprotocol, as in a browser.
import { DemoError, need } from "./client.mjs";

export async function liveStatus(ctx) {
  const { call, step, section, s, baseUrl } = ctx;
  section("Live status over a WebSocket");
  await step("GET /api/v1/events (WebSocket): an activation's PENDING and SUCCESS arrive on the socket", async () => {
    need([s.alice], "alice is not logged in");
    if (typeof WebSocket === "undefined") throw new DemoError("this Node has no global WebSocket (Node 22+ does)");
    const offers = (await call("GET", "/api/v1/offers/", { token: s.alice.token })).body;
    const offer = (Array.isArray(offers) ? offers : offers.results).find((o) => o.name === "Streaming Monthly");
    need([offer], "no offer named 'Streaming Monthly' (seed data)");

    const url = `${baseUrl.replace(/^http/, "ws").replace(/\/$/, "")}/api/v1/events`;
    const socket = await open(url, s.alice.token);
    try {
      const started = Date.now();
      const { body } = await call("POST", "/api/v1/activation/", { token: s.alice.token, body: { offer_id: offer.id }, headers: { "Idempotency-Key": crypto.randomUUID() } });
      const seen = [];
      // The PENDING event can arrive before the POST's own answer.
      const final = await socket.until((m) => {
        if (m.type !== "activation.status" || m.transaction_id !== body.transaction_id) return false;
        seen.push(m.status);
        return m.status !== "PENDING";
      });
      if (final.status !== "SUCCESS") throw new DemoError(`the socket said ${final.status}`, { body: final });
      return `${url} said ${seen.join(" -> ")} ${Date.now() - started} ms after the request`;
    } finally {
      socket.ws.close(1000);
    }
  });
}

function open(url, token) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, ["perks-edge", `bearer.${token}`]);
    const listeners = [];
    const received = [];
    const timer = setTimeout(() => reject(new DemoError(`${url}: not connected within 10 s`)), 10_000);
    ws.addEventListener("error", () => reject(new DemoError(`${url}: the WebSocket handshake failed`)));
    ws.addEventListener("message", (event) => {
      const message = JSON.parse(String(event.data));
      if (message.type === "connected") {
        clearTimeout(timer);
        resolve({ ws, until });
      }
      received.push(message);
      for (const listener of [...listeners]) listener(message);
    });
    /** The first message, already received or still to come, that `match` accepts. */
    function until(match, timeoutMs = 20_000) {
      const earlier = received.find(match);
      if (earlier) return Promise.resolve(earlier);
      return new Promise((done, fail) => {
        const deadline = setTimeout(() => fail(new DemoError(`no matching message within ${timeoutMs / 1000} s`)), timeoutMs);
        listeners.push(function listener(message) {
          if (!match(message)) return;
          clearTimeout(deadline);
          listeners.splice(listeners.indexOf(listener), 1);
          done(message);
        });
      });
    }
  });
}
