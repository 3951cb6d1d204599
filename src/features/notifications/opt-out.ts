import type { Env } from "../../env";
import { createDb } from "../../db/client";
import { notificationOptOuts, type NOTIFICATION_CHANNELS } from "../../db/schema";
import { nowIso } from "../../lib/time";
import { publicUrl } from "../../lib/public-url";

type Channel = (typeof NOTIFICATION_CHANNELS)[number];

/**
 * Opt-out links: `/api/v1/opt-out/<token>`, where the token names the channel and recipient and
 * carries an HMAC-SHA256 signature (a key derived from JWT_SECRET). Nobody can opt someone else
 * out without a message that was sent to them, and no table of tokens is needed. Following the
 * link needs no account: the people who get these messages often have none.
 */
const encoder = new TextEncoder();

const b64url = (bytes: Uint8Array) => btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
const fromB64url = (text: string) => Uint8Array.from(atob(text.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0));

/** Imported once per isolate and secret: every optional message signs a link, a bulk request up to 100. */
const keys = new Map<string, Promise<CryptoKey>>();
function signingKey(env: Pick<Env, "JWT_SECRET">) {
  let key = keys.get(env.JWT_SECRET);
  if (!key) {
    key = crypto.subtle.importKey("raw", encoder.encode(`opt-out:${env.JWT_SECRET}`), { name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"]);
    // A failed import is not kept: the next call tries again.
    key.catch(() => keys.delete(env.JWT_SECRET));
    keys.set(env.JWT_SECRET, key);
  }
  return key;
}

/** Recipients are compared without case (email addresses are, in practice). */
export const recipientKey = (channel: string, recipient: string) => `${channel}:${recipient.trim().toLowerCase()}`;

export async function optOutToken(env: Pick<Env, "JWT_SECRET">, channel: Channel, recipient: string): Promise<string> {
  const payload = b64url(encoder.encode(recipientKey(channel, recipient)));
  const signature = new Uint8Array(await crypto.subtle.sign("HMAC", await signingKey(env), encoder.encode(payload)));
  return `${payload}.${b64url(signature)}`;
}

/** The channel and recipient a genuine token names, or null. */
export async function readOptOutToken(env: Pick<Env, "JWT_SECRET">, token: string): Promise<{ channel: Channel; recipient: string } | null> {
  const match = /^([A-Za-z0-9_-]{4,700})\.([A-Za-z0-9_-]{43})$/.exec(token);
  if (!match) return null;
  try {
    const ok = await crypto.subtle.verify("HMAC", await signingKey(env), fromB64url(match[2]!), encoder.encode(match[1]!));
    if (!ok) return null;
    const text = new TextDecoder().decode(fromB64url(match[1]!));
    const at = text.indexOf(":");
    const channel = text.slice(0, at) as Channel;
    if (!["email", "telegram", "whatsapp"].includes(channel)) return null;
    return { channel, recipient: text.slice(at + 1) };
  } catch {
    return null;
  }
}

export async function optOutLink(env: Pick<Env, "JWT_SECRET" | "PUBLIC_BASE_URL" | "ENVIRONMENT">, channel: Channel, recipient: string) {
  return publicUrl(env, `/api/v1/opt-out/${await optOutToken(env, channel, recipient)}`);
}

export async function recordOptOut(env: Pick<Env, "DB">, channel: Channel, recipient: string) {
  await createDb(env.DB)
    .insert(notificationOptOuts)
    .values({ channel, recipient: recipient.trim().toLowerCase(), createdAt: nowIso() })
    .onConflictDoNothing();
}
