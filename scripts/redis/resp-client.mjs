// A minimal RESP2 client over node:net: just enough for the local Upstash REST bridge, the
// dev script and the tests. Binary safe: arguments may be strings, numbers or Buffers; bulk
// replies come back as Buffers, simple strings as JS strings (so callers can tell "OK" the
// status from "OK" the value), error replies as RedisError instances.
import { connect as netConnect } from "node:net";

export class RedisError extends Error {
  constructor(message) {
    super(message);
    this.name = "RedisError";
  }
}

/** A reply the server sent as a simple string (`+OK`), kept apart from bulk strings. */
export class SimpleString extends String {}

const CRLF = Buffer.from("\r\n");

function argToBuffer(arg) {
  if (Buffer.isBuffer(arg)) return arg;
  if (arg instanceof Uint8Array) return Buffer.from(arg.buffer, arg.byteOffset, arg.byteLength);
  if (typeof arg === "string") return Buffer.from(arg, "utf8");
  if (typeof arg === "number" || typeof arg === "bigint" || typeof arg === "boolean") {
    return Buffer.from(String(arg), "utf8");
  }
  throw new TypeError(`Unsupported Redis argument type: ${arg === null ? "null" : typeof arg}`);
}

/** Encodes one command (an array of arguments) as a RESP array of bulk strings. */
export function encodeCommand(args) {
  if (!Array.isArray(args) || args.length === 0) throw new TypeError("A command is a non-empty array");
  const parts = [Buffer.from(`*${args.length}\r\n`)];
  for (const arg of args) {
    const buf = argToBuffer(arg);
    parts.push(Buffer.from(`$${buf.length}\r\n`), buf, CRLF);
  }
  return Buffer.concat(parts);
}

const INCOMPLETE = Symbol("incomplete");

/**
 * Parses one reply starting at `offset`. Returns `{ value, offset }` or INCOMPLETE when the
 * buffer does not yet hold the whole reply.
 */
function parseReply(buf, offset) {
  if (offset >= buf.length) return INCOMPLETE;
  const lineEnd = buf.indexOf(CRLF, offset);
  if (lineEnd === -1) return INCOMPLETE;
  const type = buf[offset];
  const line = buf.toString("utf8", offset + 1, lineEnd);
  const next = lineEnd + 2;
  switch (type) {
    case 0x2b: // +
      return { value: new SimpleString(line), offset: next };
    case 0x2d: // -
      return { value: new RedisError(line), offset: next };
    case 0x3a: { // :
      const n = Number(line);
      return { value: Number.isSafeInteger(n) ? n : BigInt(line), offset: next };
    }
    case 0x24: { // $
      const len = Number(line);
      if (len < 0) return { value: null, offset: next };
      if (buf.length < next + len + 2) return INCOMPLETE;
      return { value: Buffer.from(buf.subarray(next, next + len)), offset: next + len + 2 };
    }
    case 0x2a: { // *
      const count = Number(line);
      if (count < 0) return { value: null, offset: next };
      const items = [];
      let pos = next;
      for (let i = 0; i < count; i++) {
        const item = parseReply(buf, pos);
        if (item === INCOMPLETE) return INCOMPLETE;
        items.push(item.value);
        pos = item.offset;
      }
      return { value: items, offset: pos };
    }
    default:
      throw new RedisError(`Protocol error: unexpected reply type byte 0x${type.toString(16)}`);
  }
}

export class RespConnection {
  /** @param {import("node:net").Socket} socket */
  constructor(socket) {
    this.socket = socket;
    this.pending = []; // { resolve, reject } in send order
    this.buffer = Buffer.alloc(0);
    this.closed = false;
    this.closeError = null;
    socket.setNoDelay(true);
    socket.on("data", (chunk) => this.#onData(chunk));
    socket.on("error", (err) => this.#fail(err));
    socket.on("close", () => this.#fail(new Error("Redis connection closed")));
  }

  static connect({ host = "127.0.0.1", port = 6379, connectTimeoutMs = 2000 } = {}) {
    return new Promise((resolve, reject) => {
      const socket = netConnect({ host, port });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`Timed out connecting to Redis at ${host}:${port}`));
      }, connectTimeoutMs);
      socket.once("connect", () => {
        clearTimeout(timer);
        socket.removeListener("error", onError);
        resolve(new RespConnection(socket));
      });
      const onError = (err) => {
        clearTimeout(timer);
        reject(err);
      };
      socket.once("error", onError);
    });
  }

  #onData(chunk) {
    this.buffer = this.buffer.length ? Buffer.concat([this.buffer, chunk]) : chunk;
    let offset = 0;
    while (this.pending.length > 0) {
      let parsed;
      try {
        parsed = parseReply(this.buffer, offset);
      } catch (err) {
        this.#fail(err);
        this.socket.destroy();
        return;
      }
      if (parsed === INCOMPLETE) break;
      offset = parsed.offset;
      this.pending.shift().resolve(parsed.value);
    }
    this.buffer = offset === this.buffer.length ? Buffer.alloc(0) : this.buffer.subarray(offset);
  }

  #fail(err) {
    if (!this.closed) {
      this.closed = true;
      this.closeError = err;
    }
    const pending = this.pending;
    this.pending = [];
    for (const p of pending) p.reject(err);
  }

  /** Sends commands in one write and resolves with their raw replies (errors included, not thrown). */
  #write(commands) {
    if (this.closed) return Promise.reject(this.closeError ?? new Error("Redis connection closed"));
    let payload;
    try {
      payload = Buffer.concat(commands.map(encodeCommand));
    } catch (err) {
      return Promise.reject(err);
    }
    const promises = commands.map(
      () => new Promise((resolve, reject) => this.pending.push({ resolve, reject })),
    );
    this.socket.write(payload);
    return Promise.all(promises);
  }

  /** One command; an error reply is thrown as RedisError. */
  async send(args) {
    const [reply] = await this.#write([args]);
    if (reply instanceof RedisError) throw reply;
    return reply;
  }

  /** N commands in one round trip; returns N replies, error replies as RedisError values. */
  pipeline(commands) {
    if (commands.length === 0) return Promise.resolve([]);
    return this.#write(commands);
  }

  /**
   * Runs commands inside MULTI/EXEC. Returns the EXEC array (per-command errors as RedisError
   * values), or null if a WATCH aborted it. A command rejected while queueing makes EXEC fail
   * with EXECABORT, which is thrown.
   */
  async multi(commands) {
    const replies = await this.#write([["MULTI"], ...commands, ["EXEC"]]);
    const exec = replies[replies.length - 1];
    if (exec instanceof RedisError) {
      const queueError = replies.slice(1, -1).find((r) => r instanceof RedisError);
      throw queueError ? new RedisError(`${exec.message}: ${queueError.message}`) : exec;
    }
    return exec;
  }

  close() {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      this.socket.once("close", () => resolve());
      this.socket.end();
      setTimeout(() => {
        this.socket.destroy();
        resolve();
      }, 500).unref();
    });
  }
}

/** Converts a reply to plain JS for logging and scripts: Buffers become UTF-8 strings. */
export function replyToJs(reply) {
  if (Buffer.isBuffer(reply)) return reply.toString("utf8");
  if (reply instanceof SimpleString) return reply.toString();
  if (Array.isArray(reply)) return reply.map(replyToJs);
  return reply;
}

/** PING with a short timeout; true only when the server answers PONG. */
export async function ping({ host = "127.0.0.1", port = 6379, timeoutMs = 1000 } = {}) {
  let conn;
  try {
    conn = await RespConnection.connect({ host, port, connectTimeoutMs: timeoutMs });
    const reply = await Promise.race([
      conn.send(["PING"]),
      new Promise((_, reject) => setTimeout(() => reject(new Error("PING timed out")), timeoutMs).unref()),
    ]);
    return String(reply) === "PONG";
  } catch {
    return false;
  } finally {
    conn?.socket.destroy();
  }
}
