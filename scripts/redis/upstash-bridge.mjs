// A local HTTP server that speaks the Upstash Redis REST protocol in front of a real
// redis-server, so `@upstash/redis` runs unchanged in `wrangler dev` and in the tests.
//
//   POST /            body ["HSET","k","f","v"]            -> {"result": 1}
//   POST /pipeline    body [["SET","a","1"],["GET","a"]]   -> [{"result":"OK"},{"result":"1"}]
//   POST /multi-exec  body [[...],[...]]  (MULTI/EXEC)      -> [{"result":...},{"error":...}]
//   GET|POST /ping, /get/key, /set/key/value ...            (path form; a POST body is the last arg)
//
// Tests only (`faults: true`, loopback): `POST /__fault {"mode":"up"|"down"|"hang"}` makes the
// bridge behave like a stopped Redis ("down": every request gets the 500 an unreachable Redis
// gives) or a hanging one ("hang": requests are held unanswered until the mode changes, then cut), and
// `GET /__fault` reports the mode and how many Redis requests arrived (served or not).
//
// Auth: `Authorization: Bearer <token>` (or `?_token=`); otherwise 401 {"error":"Unauthorized"}.
// `Upstash-Encoding: base64`: every string in a result is base64 except a top-level "OK" status,
// which is what @upstash/redis's decoder expects. A Redis error reply is 400 {"error"}; an
// unreachable Redis is 500 {"error"} (the worker reads that as "Redis down").
//
// Redis is reached with the `redis` package (node-redis), one RESP2 connection per bridge:
// commands of one request are written together and answered in order, a pipeline's commands
// each get their own reply or error, and /multi-exec is node-redis's MULTI/EXEC block. Bulk
// strings come back as Buffers (binary safe) except inside a transaction, where node-redis hands
// them over as UTF-8 strings.
import { randomBytes, timingSafeEqual } from "node:crypto";
import { createServer } from "node:http";
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import { ErrorReply, MultiErrorReply, RESP_TYPES, createClient } from "redis";

const MAX_BODY_BYTES = 10 * 1024 * 1024;
const COMMAND_TIMEOUT_MS = 10_000;
/** How long the start waits for a first connection (a Redis that is down does not stop the bridge). */
const FIRST_CONNECT_MS = 2_000;
// Commands that would change the state of the shared connection or take it over.
const REFUSED = new Set([
  "SELECT", "SUBSCRIBE", "PSUBSCRIBE", "SSUBSCRIBE", "UNSUBSCRIBE", "PUNSUBSCRIBE", "MONITOR",
  "QUIT", "RESET", "AUTH", "HELLO", "CLIENT", "MULTI", "EXEC", "DISCARD", "WATCH", "UNWATCH",
  "SYNC", "PSYNC", "SHUTDOWN", "DEBUG", "BLPOP", "BRPOP", "BLMOVE", "BRPOPLPUSH", "BZPOPMIN",
  "BZPOPMAX", "BLMPOP", "BZMPOP", "XREAD", "XREADGROUP", "WAIT", "WAITAOF",
]);

class HttpError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/** The node-redis client of one bridge; it reconnects by itself, and refuses commands while offline. */
async function connectRedis({ host, port }) {
  const base = createClient({
    RESP: 2,
    socket: { host, port, connectTimeout: 2_000, reconnectStrategy: (retries) => Math.min(50 * 2 ** retries, 1_000) },
    // Offline, a command fails at once (the REST answer is 500) instead of waiting in a queue.
    disableOfflineQueue: true,
  });
  // Errors are answered per request; the client's own error events only say it is reconnecting.
  base.on("error", () => {});
  const connecting = base.connect().catch(() => {});
  let timer;
  await Promise.race([connecting, new Promise((resolve) => (timer = setTimeout(resolve, FIRST_CONNECT_MS)))]);
  clearTimeout(timer);
  return {
    client: base.withTypeMapping({ [RESP_TYPES.BLOB_STRING]: Buffer }),
    base,
    async close() {
      base.destroy();
      await connecting;
    },
  };
}

/** Runs `fn(client)`; a Redis error reply passes through, anything else is a Redis that is down. */
async function withRedis(redis, fn) {
  let timer;
  try {
    return await Promise.race([
      fn(redis.client),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new HttpError(500, "Redis did not answer in time")), COMMAND_TIMEOUT_MS);
      }),
    ]);
  } catch (err) {
    if (err instanceof ErrorReply || err instanceof HttpError) throw err;
    throw new HttpError(500, `Redis unavailable: ${err?.message || err?.code || String(err)}`);
  } finally {
    clearTimeout(timer);
  }
}

/** Each command's reply in order, an error reply in its place (as a pipeline answers). */
async function pipeline(client, commands) {
  const settled = await Promise.allSettled(commands.map((command) => client.sendCommand(command)));
  return settled.map((s) => {
    if (s.status === "fulfilled") return s.value;
    if (s.reason instanceof ErrorReply) return s.reason;
    throw s.reason;
  });
}

/** MULTI/EXEC: every reply (errors in their place), or null when Redis refused the whole block. */
async function transaction(base, commands) {
  const multi = base.multi();
  for (const command of commands) multi.addCommand(command);
  try {
    return await multi.exec();
  } catch (err) {
    if (err instanceof MultiErrorReply) return err.replies;
    // A command refused while queueing (unknown, wrong arity): Redis discards the block.
    if (err instanceof ErrorReply) return null;
    throw err;
  }
}

function toArg(value) {
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  if (value === null || value === undefined) return "";
  return JSON.stringify(value);
}

function toCommand(value) {
  if (!Array.isArray(value) || value.length === 0) {
    throw new HttpError(400, "ERR a command must be a non-empty JSON array");
  }
  const args = value.map(toArg);
  if (REFUSED.has(args[0].toUpperCase())) {
    throw new HttpError(400, `ERR command '${args[0]}' is not supported by the REST bridge`);
  }
  return args;
}

function toCommandList(value) {
  if (!Array.isArray(value) || value.length === 0) {
    throw new HttpError(400, "ERR a pipeline must be a non-empty JSON array of commands");
  }
  return value.map(toCommand);
}

/**
 * Maps a reply to JSON the way Upstash does; `top` marks a command's own reply. Bulk strings
 * arrive as Buffers, simple strings (a status such as "OK") as strings.
 */
export function encodeResult(reply, base64, top = true) {
  if (reply === null || reply === undefined) return null;
  if (typeof reply === "number") return reply;
  if (typeof reply === "bigint") return Number(reply);
  if (Buffer.isBuffer(reply)) return base64 ? reply.toString("base64") : reply.toString("utf8");
  if (typeof reply === "string") {
    if (!base64 || (top && reply === "OK")) return reply;
    return Buffer.from(reply, "utf8").toString("base64");
  }
  if (reply instanceof ErrorReply) {
    // Only reachable nested inside an array (e.g. EVAL returning an error table).
    return base64 ? Buffer.from(reply.message, "utf8").toString("base64") : reply.message;
  }
  if (Array.isArray(reply)) return reply.map((item) => encodeResult(item, base64, false));
  return reply;
}

function entry(reply, base64) {
  return reply instanceof ErrorReply ? { error: reply.message } : { result: encodeResult(reply, base64) };
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on("data", (chunk) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new HttpError(413, "ERR request body too large"));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

function parseJson(body) {
  try {
    return JSON.parse(body.toString("utf8"));
  } catch {
    throw new HttpError(400, "ERR failed to parse the request body as JSON");
  }
}

function tokenMatches(given, expected) {
  if (typeof given !== "string") return false;
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

function send(res, status, payload) {
  const body = JSON.stringify(payload);
  res.writeHead(status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(body),
  });
  res.end(body);
}

const FAULT_MODES = new Set(["up", "down", "hang"]);

/** Test-only fault switch: the state behind `/__fault` and what each mode does to a request. */
class FaultSwitch {
  mode = "up";
  requests = 0;
  held = new Set();

  /** True when the request was dealt with by the fault (cut or held). */
  intercept(req, res) {
    this.requests++;
    if (this.mode === "down") {
      send(res, 500, { error: "Redis unavailable: connect ECONNREFUSED (fault switch)" });
      return true;
    }
    if (this.mode === "hang") {
      this.held.add(res);
      res.once("close", () => this.held.delete(res));
      return true;
    }
    return false;
  }

  set(mode) {
    this.mode = mode;
    // A hang ends the way a Redis coming back ends it: the held requests' connections are cut
    // (their clients have long given up), new requests see the new mode.
    for (const res of this.held) res.socket?.destroy();
    this.held.clear();
  }
}

async function handle(req, res, { redis, token, faults }) {
  const url = new URL(req.url ?? "/", "http://bridge.local");
  const auth = req.headers.authorization ?? "";
  const bearer = auth.startsWith("Bearer ") ? auth.slice(7) : url.searchParams.get("_token");
  if (!tokenMatches(bearer, token)) return send(res, 401, { error: "Unauthorized" });

  if (faults && url.pathname === "/__fault") {
    if (req.method === "GET") return send(res, 200, { mode: faults.mode, requests: faults.requests });
    const { mode } = parseJson(await readBody(req));
    if (!FAULT_MODES.has(mode)) return send(res, 400, { error: "ERR mode must be up, down or hang" });
    faults.set(mode);
    return send(res, 200, { mode, requests: faults.requests });
  }
  if (faults?.intercept(req, res)) return;

  const base64 = String(req.headers["upstash-encoding"] ?? "").toLowerCase() === "base64";
  const body = req.method === "POST" || req.method === "PUT" ? await readBody(req) : Buffer.alloc(0);
  const path = url.pathname.replace(/\/+$/, "");

  if (req.method !== "GET" && req.method !== "POST" && req.method !== "PUT") {
    return send(res, 405, { error: "ERR method not allowed" });
  }

  if (path === "/pipeline" || path === "/multi-exec") {
    if (req.method === "GET") return send(res, 405, { error: "ERR use POST" });
    const commands = toCommandList(parseJson(body));
    if (path === "/pipeline") {
      const replies = await withRedis(redis, (client) => pipeline(client, commands));
      return send(res, 200, replies.map((r) => entry(r, base64)));
    }
    const replies = await withRedis(redis, () => transaction(redis.base, commands));
    if (replies === null) return send(res, 400, { error: "EXECABORT transaction aborted" });
    return send(res, 200, replies.map((r) => entry(r, base64)));
  }

  let command;
  if (path === "") {
    if (req.method === "GET") return send(res, 200, { result: "Upstash REST bridge" });
    command = toCommand(parseJson(body));
  } else {
    const segments = path.slice(1).split("/").map((s) => decodeURIComponent(s));
    if (body.length > 0) segments.push(body.toString("utf8"));
    command = toCommand(segments);
  }
  const [reply] = await withRedis(redis, (client) => pipeline(client, [command]));
  if (reply instanceof ErrorReply) return send(res, 400, { error: reply.message });
  return send(res, 200, { result: encodeResult(reply, base64) });
}

/**
 * Starts the bridge. `port: 0` (or omitted) picks a free port.
 * @returns {Promise<{ url: string, port: number, token: string, close(): Promise<void> }>}
 */
export async function startUpstashBridge({
  redisHost = "127.0.0.1",
  redisPort = 6379,
  host = "127.0.0.1",
  port = 0,
  token,
  faults = false,
} = {}) {
  if (!token) throw new Error("startUpstashBridge: a token is required");
  if (faults && host !== "127.0.0.1") throw new Error("startUpstashBridge: the fault switch is for tests on loopback only");
  const redis = await connectRedis({ host: redisHost, port: redisPort });
  const faultSwitch = faults ? new FaultSwitch() : null;
  const server = createServer((req, res) => {
    handle(req, res, { redis, token, faults: faultSwitch }).catch((err) => {
      if (res.headersSent) return res.destroy();
      if (err instanceof HttpError) return send(res, err.status, { error: err.message });
      if (err instanceof ErrorReply) return send(res, 400, { error: err.message });
      send(res, 500, { error: `Bridge error: ${err?.message ?? String(err)}` });
    });
  });
  server.keepAliveTimeout = 30_000;
  try {
    await new Promise((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, host, () => {
        server.removeListener("error", reject);
        resolve();
      });
    });
  } catch (err) {
    await redis.close();
    throw err;
  }
  const address = server.address();
  const actualPort = typeof address === "object" && address ? address.port : port;
  let closing;
  return {
    url: `http://${host}:${actualPort}`,
    port: actualPort,
    token,
    close() {
      closing ??= (async () => {
        faultSwitch?.set("down");
        await new Promise((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections?.();
        });
        await redis.close();
      })();
      return closing;
    },
  };
}

async function main() {
  const { values } = parseArgs({
    options: {
      port: { type: "string", default: "8079" },
      host: { type: "string", default: "127.0.0.1" },
      token: { type: "string" },
      "redis-host": { type: "string", default: "127.0.0.1" },
      "redis-port": { type: "string", default: "6379" },
    },
  });
  const token = values.token ?? randomBytes(16).toString("hex");
  const bridge = await startUpstashBridge({
    host: values.host,
    port: Number(values.port),
    token,
    redisHost: values["redis-host"],
    redisPort: Number(values["redis-port"]),
  });
  console.log(`Upstash REST bridge on ${bridge.url} -> redis ${values["redis-host"]}:${values["redis-port"]}`);
  console.log(`UPSTASH_REDIS_REST_URL=${bridge.url}`);
  console.log(`UPSTASH_REDIS_REST_TOKEN=${token}`);
  const stop = () => bridge.close().then(() => process.exit(0));
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((err) => {
    console.error(err?.message ?? err);
    process.exit(1);
  });
}
