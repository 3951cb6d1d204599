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

/**
 * Queue bindings whose messages carry the request id that sent them (read by the consumer's log
 * line). The env is layered, not copied: the result inherits every other binding from `env`.
 */
export function queuesCarrying<E extends object>(env: E, requestId: string, names: readonly (keyof E & string)[]): E {
  const wrapped = Object.create(env) as Record<string, unknown>;
  const tag = (body: unknown) => (body && typeof body === "object" && !Array.isArray(body) ? { ...body, request_id: requestId } : body);
  for (const name of names) {
    const queue = env[name] as unknown as Queue<unknown> | undefined;
    if (!queue) continue;
    wrapped[name] = {
      send: (body: unknown, options?: QueueSendOptions) => queue.send(tag(body), options),
      sendBatch: (messages: Iterable<MessageSendRequest<unknown>>, options?: QueueSendBatchOptions) =>
        queue.sendBatch([...messages].map((m) => ({ ...m, body: tag(m.body) })), options),
    };
  }
  return wrapped as E;
}

/**
 * Runs one queue message's consumer and logs one line: queue, message id, type, the request id
 * that sent it, attempts, what the consumer did (ack, retry, or an error) and how long it took.
 */
export async function withMessageLog<B>(queue: string, message: Message<B>, consume: (message: Message<B>) => Promise<void>) {
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
  try {
    await consume(tracked);
  } catch (error) {
    outcome = "error";
    throw error;
  } finally {
    logLine({
      level: outcome === "error" ? "error" : "info",
      msg: "queue message",
      queue,
      message_id: message.id,
      type: typeof body.type === "string" ? body.type : null,
      request_id: typeof body.request_id === "string" ? body.request_id : null,
      attempts: message.attempts,
      outcome,
      duration_ms: Date.now() - started,
    });
  }
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
