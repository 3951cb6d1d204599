import type { Env } from "../../env";
import { hmacSha256Hex } from "../../lib/crypto";
import { formatAmount } from "../../lib/money";
import type { ActivationRow } from "../activation/activation.service";

/** A partner that has not answered in this long is treated like a 5xx: the message is retried. */
export const PARTNER_TIMEOUT_MS = 10_000;

export const PARTNER_HEADERS = {
  timestamp: "X-Perks-Timestamp",
  signature: "X-Perks-Signature",
  idempotency: "Idempotency-Key",
} as const;

export type PartnerOutcome =
  | { kind: "success"; partnerReference?: string }
  | { kind: "refused"; reason: string }
  /** The partner took the request and will answer on POST /api/v1/partner/callback/. */
  | { kind: "accepted" }
  | { kind: "retry"; reason: string };

/** `sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">` with PARTNER_API_SECRET. */
export async function signPartnerBody(secret: string, timestamp: string, body: string): Promise<string> {
  return `sha256=${await hmacSha256Hex(secret, `${timestamp}.${body}`)}`;
}

/**
 * Asks the partner to activate. Without PARTNER_API_URL a sandbox partner answers instead: it
 * succeeds, unless the offer's `sandbox_outcome` is `fail`.
 */
export async function activateWithPartner(env: Pick<Env, "PARTNER_API_URL" | "PARTNER_API_SECRET">, tx: ActivationRow): Promise<PartnerOutcome> {
  if (!env.PARTNER_API_URL) {
    return tx.sandbox_outcome === "fail"
      ? { kind: "refused", reason: "The partner refused the activation (sandbox offer marked to fail)." }
      : { kind: "success", partnerReference: `SANDBOX-${tx.reference}` };
  }
  if (!env.PARTNER_API_SECRET) return { kind: "retry", reason: "PARTNER_API_SECRET is not configured" };

  const body = JSON.stringify({
    transaction_id: tx.id,
    reference: tx.reference,
    offer_id: tx.offer_id,
    offer_name: tx.offer_name,
    partner: tx.partner,
    user_id: tx.user_id,
    amount: formatAmount(tx.amount),
    duration_days: tx.duration_days,
  });
  const timestamp = String(Math.floor(Date.now() / 1000));
  let response: Response;
  try {
    response = await fetch(env.PARTNER_API_URL, {
      method: "POST",
      body,
      headers: {
        "Content-Type": "application/json",
        [PARTNER_HEADERS.timestamp]: timestamp,
        [PARTNER_HEADERS.signature]: await signPartnerBody(env.PARTNER_API_SECRET, timestamp, body),
        // Retries of one activation carry the same key, so the partner can deduplicate them.
        [PARTNER_HEADERS.idempotency]: tx.id,
      },
      signal: AbortSignal.timeout(PARTNER_TIMEOUT_MS),
    });
  } catch (error) {
    return { kind: "retry", reason: `partner unreachable: ${String(error)}` };
  }

  const payload = (await response.json().catch(() => ({}))) as { status?: string; reason?: string; message?: string; partner_reference?: string };
  const status = String(payload.status ?? "").toUpperCase();
  if (response.status >= 500 || response.status === 408 || response.status === 429) return { kind: "retry", reason: `partner answered ${response.status}` };
  if (response.status >= 400 || status === "FAILED" || status === "REFUSED")
    return { kind: "refused", reason: partnerReason(payload.reason ?? payload.message) };
  if (response.status === 202 || status === "PENDING" || status === "ACCEPTED") return { kind: "accepted" };
  return { kind: "success", ...(payload.partner_reference ? { partnerReference: String(payload.partner_reference) } : {}) };
}

/** Asking for a state or a cancel is lighter than an activation: give up sooner. */
export const PARTNER_QUERY_TIMEOUT_MS = 5_000;

/** The partner's view of an activation: `unknown` when it never received it (404). */
export type PartnerState = { kind: "SUCCESS" } | { kind: "FAILED"; reason: string } | { kind: "PENDING" } | { kind: "unknown" } | { kind: "error"; reason: string };

/** `POST <PARTNER_API_URL>/<action>`, JSON, signed like an activation request. */
async function partnerPost(env: Pick<Env, "PARTNER_API_URL" | "PARTNER_API_SECRET">, action: "status" | "cancel", payload: object, idempotencyKey?: string) {
  const body = JSON.stringify(payload);
  const timestamp = String(Math.floor(Date.now() / 1000));
  return fetch(`${env.PARTNER_API_URL!.replace(/\/+$/, "")}/${action}`, {
    method: "POST",
    body,
    headers: {
      "Content-Type": "application/json",
      [PARTNER_HEADERS.timestamp]: timestamp,
      [PARTNER_HEADERS.signature]: await signPartnerBody(env.PARTNER_API_SECRET!, timestamp, body),
      ...(idempotencyKey ? { [PARTNER_HEADERS.idempotency]: idempotencyKey } : {}),
    },
    signal: AbortSignal.timeout(PARTNER_QUERY_TIMEOUT_MS),
  });
}

/**
 * Asks the partner what became of an activation (`POST <PARTNER_API_URL>/status`), so the sweep
 * completes an accepted activation the partner finished, or re-sends only what it never got.
 * The sandbox partner answers activations at once, so one still pending never reached it.
 */
export async function partnerActivationState(env: Pick<Env, "PARTNER_API_URL" | "PARTNER_API_SECRET">, tx: ActivationRow): Promise<PartnerState> {
  if (!env.PARTNER_API_URL) return { kind: "unknown" };
  if (!env.PARTNER_API_SECRET) return { kind: "error", reason: "PARTNER_API_SECRET is not configured" };
  try {
    const response = await partnerPost(env, "status", { transaction_id: tx.id, reference: tx.reference });
    if (response.status === 404) return { kind: "unknown" };
    if (!response.ok) return { kind: "error", reason: `partner answered ${response.status}` };
    const payload = (await response.json().catch(() => ({}))) as { status?: string; reason?: string };
    const status = String(payload.status ?? "").toUpperCase();
    if (status === "SUCCESS" || status === "ACTIVE") return { kind: "SUCCESS" };
    if (status === "FAILED" || status === "REFUSED" || status === "CANCELLED") return { kind: "FAILED", reason: partnerReason(payload.reason) };
    if (status === "PENDING" || status === "ACCEPTED") return { kind: "PENDING" };
    return { kind: "error", reason: `partner answered an unknown status ${JSON.stringify(status.slice(0, 20))}` };
  } catch (error) {
    return { kind: "error", reason: `partner unreachable: ${String(error)}` };
  }
}

/**
 * Tells the partner to cancel an activation we failed and refunded (`POST <PARTNER_API_URL>/cancel`,
 * Idempotency-Key `cancel:<transaction id>`). Acknowledged on 2xx, or 404 (it never had it);
 * anything else is retried. The sandbox partner acknowledges at once.
 */
export async function cancelWithPartner(env: Pick<Env, "PARTNER_API_URL" | "PARTNER_API_SECRET">, tx: Pick<ActivationRow, "id" | "reference">, reason: string): Promise<{ acknowledged: true } | { acknowledged: false; reason: string }> {
  if (!env.PARTNER_API_URL) return { acknowledged: true };
  if (!env.PARTNER_API_SECRET) return { acknowledged: false, reason: "PARTNER_API_SECRET is not configured" };
  try {
    const response = await partnerPost(env, "cancel", { transaction_id: tx.id, reference: tx.reference, reason }, `cancel:${tx.id}`);
    if (response.ok || response.status === 404) return { acknowledged: true };
    return { acknowledged: false, reason: `partner answered ${response.status}` };
  } catch (error) {
    return { acknowledged: false, reason: `partner unreachable: ${String(error)}` };
  }
}

/** The partner's own words reach the user's notice, trimmed; a missing reason gets a plain one. */
function partnerReason(reason: unknown): string {
  const text = typeof reason === "string" ? reason.trim().slice(0, 200) : "";
  return text ? `The partner refused the activation: ${text}` : "The partner refused the activation.";
}
