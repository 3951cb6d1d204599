// Finds a Redis for local work: one already answering PING on 127.0.0.1:<preferPort>, or a
// throwaway `redis-server` (no persistence, loopback only) started on a free port.
import { spawn } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { createServer } from "node:net";
import { delimiter, join } from "node:path";
import { createClient } from "redis";

/** True when a Redis answers PING on host:port within timeoutMs. */
export async function ping({ host = "127.0.0.1", port = 6379, timeoutMs = 1000 } = {}) {
  const client = createClient({ RESP: 2, socket: { host, port, connectTimeout: timeoutMs, reconnectStrategy: false } });
  client.on("error", () => {});
  let timer;
  try {
    const answer = await Promise.race([
      client.connect().then(() => client.ping()),
      new Promise((resolve) => (timer = setTimeout(() => resolve(null), timeoutMs))),
    ]);
    return answer === "PONG";
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
    try {
      client.destroy();
    } catch {
      // never connected
    }
  }
}

export function findRedisServerBinary() {
  const dirs = (process.env.PATH ?? "").split(delimiter).filter(Boolean);
  for (const extra of ["/usr/bin", "/usr/sbin", "/usr/local/bin", "/usr/local/sbin"]) {
    if (!dirs.includes(extra)) dirs.push(extra);
  }
  for (const dir of dirs) {
    const candidate = join(dir, "redis-server");
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // keep looking
    }
  }
  return null;
}

export function freePort(host = "127.0.0.1") {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, host, () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * @param {{ preferPort?: number, log?: (line: string) => void }} [options]
 * @returns {Promise<{ host: string, port: number, started: boolean, stop(): Promise<void> } | null>}
 */
export async function ensureRedis({ preferPort = 6379, log = () => {} } = {}) {
  const host = "127.0.0.1";
  if (preferPort && (await ping({ host, port: preferPort, timeoutMs: 700 }))) {
    log(`Using the Redis already running on ${host}:${preferPort}`);
    return { host, port: preferPort, started: false, stop: async () => {} };
  }

  const binary = findRedisServerBinary();
  if (!binary) return null;

  // A port can be taken between choosing and binding: retry a few times.
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort(host);
    const child = spawn(
      binary,
      ["--port", String(port), "--bind", host, "--save", "", "--appendonly", "no", "--daemonize", "no", "--loglevel", "warning"],
      { stdio: ["ignore", "ignore", "pipe"] },
    );
    let stderr = "";
    child.stderr.on("data", (d) => (stderr += d));
    let exited = false;
    child.once("exit", () => (exited = true));
    child.once("error", () => (exited = true));
    // If this process dies without calling stop(), do not leave the server behind.
    const killOnExit = () => child.kill("SIGKILL");
    process.once("exit", killOnExit);

    const deadline = Date.now() + 5000;
    while (!exited && Date.now() < deadline) {
      if (await ping({ host, port, timeoutMs: 300 })) {
        log(`Started redis-server on ${host}:${port} (pid ${child.pid})`);
        let stopping;
        return {
          host,
          port,
          started: true,
          stop() {
            stopping ??= new Promise((resolve) => {
              process.removeListener("exit", killOnExit);
              if (exited || child.exitCode !== null) return resolve();
              const timer = setTimeout(() => child.kill("SIGKILL"), 3000);
              child.once("exit", () => {
                clearTimeout(timer);
                resolve();
              });
              child.kill("SIGTERM");
            });
            return stopping;
          },
        };
      }
      await sleep(50);
    }
    process.removeListener("exit", killOnExit);
    child.kill("SIGKILL");
    log(`redis-server did not start on port ${port}: ${stderr.trim() || "no output"}`);
  }
  return null;
}
