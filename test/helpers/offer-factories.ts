import { env } from "cloudflare:workers";
import { recordRetryDelays } from "./retry-delays";
import { createMessageBatch, createExecutionContext, getQueueResult } from "cloudflare:test";
import type { Env } from "../../src/env";
import { requestActivation } from "../../src/features/activation/activation.service";
import { hmacSha256Hex } from "../../src/lib/crypto";
import { partnerSigningString } from "../../src/features/partner/partner.auth";
import worker from "../../src/index";
import { QueueName } from "../../src/queues/messages";
import { unique } from "./factories";

/** Inserts an offer directly (admin endpoints have their own tests). Price in minor units. */
export async function makeOffer(options: { price?: number; durationDays?: number; sandboxOutcome?: "succeed" | "fail"; isActive?: boolean } = {}) {
  const now = new Date().toISOString();
  const row = await env.DB.prepare(
    "INSERT INTO offers (name, description, price, duration_days, is_active, partner, sandbox_outcome, created_at, updated_at) VALUES (?, 'test offer', ?, ?, ?, 'acme', ?, ?, ?) RETURNING id",
  )
    .bind(unique("offer"), options.price ?? 2000, options.durationDays ?? 30, options.isActive === false ? 0 : 1, options.sandboxOutcome ?? "succeed", now, now)
    .first<{ id: number }>();
  return { id: row!.id, price: options.price ?? 2000 };
}

/** An env whose activation queue drops messages, so a test drives delivery itself. */
export const quietEnv = (overrides: Partial<Env> = {}): Env =>
  ({ ...env, ACTIVATIONS: { send: async () => undefined, sendBatch: async () => undefined }, ...overrides }) as unknown as Env;

/** A PENDING activation whose message was not sent: the test delivers it. */
export async function pendingActivation(userId: number, offerId: number) {
  const { transaction_id } = await requestActivation(quietEnv(), { userId, offerId });
  return transaction_id;
}

let messageSeq = 0;
/** Delivers one activation message through the worker's queue() handler; returns acks and retries. */
export async function deliverActivation(transactionId: string, options: { queue?: string; attempts?: number; env?: Env } = {}) {
  const batch = createMessageBatch(options.queue ?? QueueName.activations, [
    { id: `m-${messageSeq++}`, timestamp: new Date(), attempts: options.attempts ?? 1, body: { type: "activation.requested", transaction_id: transactionId } },
  ]);
  const retryDelays = recordRetryDelays(batch);
  const ctx = createExecutionContext();
  await worker.queue(batch, options.env ?? (env as unknown as Env));
  return { ...(await getQueueResult(batch, ctx)), retryDelays };
}

export async function txRow(id: string) {
  return env.DB.prepare("SELECT t.status, t.failure_reason, t.amount, s.status AS sub_status, s.starts_at, s.ends_at FROM transactions t JOIN subscriptions s ON s.transaction_id = t.id WHERE t.id = ?")
    .bind(id)
    .first<{ status: string; failure_reason: string | null; amount: number; sub_status: string; starts_at: string | null; ends_at: string | null }>();
}

export async function refundsOf(transactionId: string) {
  const row = await env.DB.prepare("SELECT COUNT(*) AS n, COALESCE(SUM(amount), 0) AS total FROM ledger_entries WHERE transaction_id = ? AND kind = 'refund'")
    .bind(transactionId)
    .first<{ n: number; total: number }>();
  return row!;
}

/** Headers a partner sends: timestamp, nonce and the HMAC over both, method, path and body. */
export async function partnerHeaders(method: string, path: string, body = "", options: { nonce?: string; timestamp?: number; secret?: string } = {}) {
  const timestamp = String(options.timestamp ?? Math.floor(Date.now() / 1000));
  const nonce = options.nonce ?? unique("nonce");
  const signature = await hmacSha256Hex(options.secret ?? env.PARTNER_API_SECRET!, partnerSigningString(timestamp, nonce, method, path, body));
  return { "x-partner-timestamp": timestamp, "x-partner-nonce": nonce, "x-partner-signature": `sha256=${signature}`, "content-type": "application/json" };
}
