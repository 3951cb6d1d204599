// Tests only: a loopback control server that starts a dedicated Upstash REST bridge with a fault
// switch (see upstash-bridge.mjs) for each test file that asks, in front of the same real Redis.
// A test file can then cut or hang its own Redis mid-flow without disturbing files that run
// beside it.
//
//   POST /bridges           -> 201 {"url": "http://127.0.0.1:<port>"}   (same token as the main bridge)
//   DELETE /bridges/<port>  -> 204 (that bridge is closed)
import { createServer } from "node:http";
import { startUpstashBridge } from "./upstash-bridge.mjs";

/**
 * @param {{ redisHost: string, redisPort: number, token: string }} options
 * @returns {Promise<{ url: string, close(): Promise<void> }>}
 */
export async function startFaultBridgeFactory({ redisHost, redisPort, token }) {
  const bridges = new Map();
  const server = createServer(async (req, res) => {
    const reply = (status, body) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(body === undefined ? undefined : JSON.stringify(body));
    };
    try {
      const path = new URL(req.url ?? "/", "http://factory.local").pathname.replace(/\/+$/, "");
      if (req.method === "POST" && path === "/bridges") {
        const bridge = await startUpstashBridge({ redisHost, redisPort, token, host: "127.0.0.1", port: 0, faults: true });
        bridges.set(bridge.port, bridge);
        return reply(201, { url: bridge.url });
      }
      const match = /^\/bridges\/(\d+)$/.exec(path);
      if (req.method === "DELETE" && match) {
        const bridge = bridges.get(Number(match[1]));
        bridges.delete(Number(match[1]));
        await bridge?.close();
        return reply(204);
      }
      reply(404, { error: "not found" });
    } catch (err) {
      reply(500, { error: String(err?.message ?? err) });
    }
  });
  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  const address = server.address();
  return {
    url: `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`,
    async close() {
      await Promise.all([...bridges.values()].map((b) => b.close()));
      await new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections?.();
      });
    },
  };
}
