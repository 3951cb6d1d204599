/**
 * One JSON line per request, queue message and cron job, so `wrangler tail` and Workers Logs can
 * follow a client's X-Request-Id from its request to the consumer that handled its message.
 * One console.log each: Workers Logs indexes the JSON fields.
 */
export type LogLine = { level: "info" | "warn" | "error"; msg: string } & Record<string, unknown>;

export function logLine(line: LogLine) {
  const text = JSON.stringify(line);
  if (line.level === "error") console.error(text);
  else if (line.level === "warn") console.warn(text);
  else console.log(text);
}

const OWN_LAYER = Symbol("per-request env");

/**
 * A request's own env: `base` (the checked env) as its prototype, so nothing is copied, and
 * marked so later per-request values (queues carrying the request id) go on it instead of on one
 * more layer: an object made with a fresh object as its prototype is slow to create and to read
 * through (V8 turns that object into a prototype first), and every binding is read through it.
 */
export function perRequestEnv<E extends object>(base: E): E {
  const env = Object.create(base) as E & { [OWN_LAYER]?: true };
  env[OWN_LAYER] = true;
  return env;
}

/** Sends with the request id added to each object body (other bodies unchanged). */
class TaggedQueue {
  constructor(
    private readonly queue: Queue<unknown>,
    private readonly requestId: string,
  ) {}
  private tag(body: unknown) {
    return body && typeof body === "object" && !Array.isArray(body) ? { ...body, request_id: this.requestId } : body;
  }
  send(body: unknown, options?: QueueSendOptions) {
    return this.queue.send(this.tag(body), options);
  }
  sendBatch(messages: Iterable<MessageSendRequest<unknown>>, options?: QueueSendBatchOptions) {
    return this.queue.sendBatch([...messages].map((m) => ({ ...m, body: this.tag(m.body) })), options);
  }
}

/**
 * Queue bindings whose messages carry the request id that sent them (read by the consumer's log
 * line). The env is layered, not copied: the result inherits every other binding from `env` (a
 * request's own env from perRequestEnv takes them as its own properties instead).
 */
export function queuesCarrying<E extends object>(env: E, requestId: string, names: readonly (keyof E & string)[]): E {
  const wrapped = (Object.hasOwn(env, OWN_LAYER) ? env : Object.create(env)) as Record<string, unknown>;
  for (const name of names) {
    const queue = env[name] as unknown as Queue<unknown> | undefined;
    if (queue) wrapped[name] = new TaggedQueue(queue, requestId);
  }
  return wrapped as E;
}

/**
 * Runs one queue message's consumer and logs one line: queue, message id, type, the request id
 * that sent it, attempts, what the consumer did (ack, retry, or an error) and how long it took.
 */
export async function withMessageLog<B>(queue: string, message: Message<B>, consume: (message: Message<B>) => Promise<void>) {
  const tracked = trackMessage(queue, message);
  try {
    await consume(tracked.message);
  } catch (error) {
    tracked.log(true);
    throw error;
  }
  tracked.log(false);
}

/**
 * A message whose ack or retry is recorded, and `log` to write its line (as withMessageLog does)
 * once its consumer is done: for a consumer that works a whole batch, one line per message still.
 */
export function trackMessage<B>(queue: string, message: Message<B>) {
  const started = Date.now();
  let outcome = "none";
  const tracked: Message<B> = {
    id: message.id,
    timestamp: message.timestamp,
    body: message.body,
    attempts: message.attempts,
    ack: () => {
      outcome = "ack";
      message.ack();
    },
    retry: (options?: QueueRetryOptions) => {
      outcome = "retry";
      message.retry(options);
    },
  };
  const body = (message.body ?? {}) as { type?: unknown; request_id?: unknown };
  return {
    message: tracked,
    /** Whether the consumer has acked or retried it. */
    settled: () => outcome !== "none",
    /** `failed`: the consumer threw before settling it. */
    log: (failed: boolean) =>
      logLine({
        level: failed ? "error" : "info",
        msg: "queue message",
        queue,
        message_id: message.id,
        type: typeof body.type === "string" ? body.type : null,
        request_id: typeof body.request_id === "string" ? body.request_id : null,
        attempts: message.attempts,
        outcome: failed ? "error" : outcome,
        duration_ms: Date.now() - started,
      }),
  };
}

/** Runs one cron job and logs one line: the schedule, the job, its outcome and duration. */
export async function withJobLog<T>(cron: string, job: string, run: () => Promise<T>): Promise<T> {
  const started = Date.now();
  let ok = false;
  try {
    const result = await run();
    ok = true;
    return result;
  } finally {
    logLine({ level: ok ? "info" : "error", msg: "cron job", cron, job, outcome: ok ? "done" : "error", duration_ms: Date.now() - started });
  }
}
