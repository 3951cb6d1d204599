/**
 * The harness records that a message was retried but not the delay asked for: wrap each message's
 * `retry` so the test can assert the backoff. Returns the delays, in order, as they are asked for.
 */
export function recordRetryDelays(batch: MessageBatch<unknown>): (number | undefined)[] {
  const retryDelays: (number | undefined)[] = [];
  for (const message of batch.messages) {
    const retry = message.retry.bind(message);
    Object.defineProperty(message, "retry", {
      value: (opts?: QueueRetryOptions) => {
        retryDelays.push(opts?.delaySeconds);
        retry(opts);
      },
    });
  }
  return retryDelays;
}
