import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import worker from "../../src/index";
import { BASE } from "./api";

/**
 * A POST through the worker with an env of the test's own (a recording D1, a queue that refuses),
 * waiting for the work it left to `waitUntil`.
 */
export async function postWithEnv(workerEnv: object, path: string, options: { token: string; body: unknown; headers?: Record<string, string> }) {
  const ctx = createExecutionContext();
  const response = await worker.fetch(
    new Request(`${BASE}${path}`, {
      method: "POST",
      headers: { authorization: `Bearer ${options.token}`, "content-type": "application/json", ...options.headers },
      body: JSON.stringify(options.body),
    }) as Request<unknown, IncomingRequestCfProperties>,
    workerEnv as never,
    ctx,
  );
  await waitOnExecutionContext(ctx);
  return { status: response.status, headers: response.headers, body: (await response.json()) as any };
}
