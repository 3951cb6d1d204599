import type { Env } from "../../../env";
import type { NOTIFICATION_CHANNELS } from "../../../db/schema";

export type Channel = (typeof NOTIFICATION_CHANNELS)[number];

export interface OutgoingMessage {
  id: string;
  channel: Channel;
  recipient: string;
  title: string;
  message: string;
}

export type DeliveryResult =
  | {
      ok: true;
      providerMessageId: string | null;
      /**
       * A write that is the delivery itself (the sandbox's record of the message): the consumer
       * commits it in the batch that marks the notification sent, so the two never disagree and
       * the delivery makes one round trip fewer.
       */
      record?: D1PreparedStatement;
    }
  | { ok: false; retryable: boolean; error: string; retryAfterSeconds?: number };

export interface Provider {
  name: string;
  send(env: Env, message: OutgoingMessage): Promise<DeliveryResult>;
}

/** A provider that hangs must not hold a queue batch: past this the attempt counts as failed and retries. */
export const PROVIDER_TIMEOUT_MS = 10_000;
const MAX_ERROR_LENGTH = 300;

/**
 * POSTs JSON to a provider and classifies the answer: 2xx sent; 429, 5xx, network errors and
 * timeouts are worth retrying; any other 4xx will not get better. Error texts never contain
 * the request URL or headers, and every secret is scrubbed from what the provider said.
 */
export async function postToProvider(options: {
  label: string;
  url: string;
  headers: Record<string, string>;
  body: unknown;
  secrets: (string | undefined)[];
  readId: (json: any) => unknown;
}): Promise<DeliveryResult> {
  let response: Response;
  try {
    response = await fetch(options.url, {
      method: "POST",
      headers: { "Content-Type": "application/json", ...options.headers },
      body: JSON.stringify(options.body),
      signal: AbortSignal.timeout(PROVIDER_TIMEOUT_MS),
    });
  } catch (error) {
    const name = (error as { name?: string })?.name;
    const timedOut = name === "TimeoutError" || name === "AbortError";
    return {
      ok: false,
      retryable: true,
      error: timedOut ? `${options.label} did not answer within ${PROVIDER_TIMEOUT_MS / 1000} s.` : `${options.label} could not be reached.`,
    };
  }
  const text = await response.text();
  let json: any = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    // a proxy's HTML error page: the status alone decides
  }
  if (response.ok) {
    const id = options.readId(json);
    return { ok: true, providerMessageId: id === undefined || id === null ? null : String(id) };
  }
  const said = scrub(providerMessage(json), options.secrets);
  const retryAfter = Number(response.headers.get("retry-after") ?? json?.parameters?.retry_after);
  return {
    ok: false,
    retryable: response.status === 429 || response.status >= 500,
    error: `${options.label} answered ${response.status}${said ? `: ${said}` : ""}`.slice(0, MAX_ERROR_LENGTH),
    ...(Number.isFinite(retryAfter) && retryAfter > 0 ? { retryAfterSeconds: retryAfter } : {}),
  };
}

/** Resend: `message`; Telegram: `description`; WhatsApp Cloud API: `error.message`. */
function providerMessage(json: any): string {
  const candidate = json?.error?.message ?? json?.description ?? json?.message;
  return typeof candidate === "string" ? candidate : "";
}

function scrub(text: string, secrets: (string | undefined)[]): string {
  let out = text;
  for (const secret of secrets) if (secret && secret.length >= 4) out = out.split(secret).join("[redacted]");
  return out;
}
