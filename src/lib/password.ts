// The scripts (seed, admin:create) hash passwords with this very module under Node, which loads
// TypeScript only with explicit extensions: keep this file's imports `.ts` and type-only syntax.
import { timingSafeEqual } from "./crypto.ts";

/**
 * PBKDF2-SHA256 with a per-user salt. Workers refuse more than 100,000 iterations in production
 * (local workerd does not), so the cost is pinned at that ceiling and stored beside the hash:
 * `pbkdf2-sha256$<iterations>$<salt b64>$<hash b64>`.
 */
export const PBKDF2_ITERATIONS = 100_000;
export const PBKDF2_MAX_ITERATIONS = 100_000;
const SALT_BYTES = 16;
const HASH_BITS = 256;

const toBase64 = (bytes: Uint8Array) => btoa(String.fromCharCode(...bytes));
const fromBase64 = (text: string) => Uint8Array.from(atob(text), (c) => c.charCodeAt(0));

async function derive(password: string, salt: Uint8Array, iterations: number): Promise<Uint8Array> {
  if (iterations > PBKDF2_MAX_ITERATIONS) throw new Error("PBKDF2 iteration count above the Workers limit");
  const key = await crypto.subtle.importKey("raw", new TextEncoder().encode(password), "PBKDF2", false, ["deriveBits"]);
  const bits = await crypto.subtle.deriveBits({ name: "PBKDF2", hash: "SHA-256", salt, iterations }, key, HASH_BITS);
  return new Uint8Array(bits);
}

export async function hashPassword(password: string, iterations = PBKDF2_ITERATIONS): Promise<string> {
  const salt = crypto.getRandomValues(new Uint8Array(SALT_BYTES));
  const hash = await derive(password, salt, iterations);
  return `pbkdf2-sha256$${iterations}$${toBase64(salt)}$${toBase64(hash)}`;
}

export function parsePasswordHash(stored: string) {
  const [algorithm, iterations, salt, hash] = stored.split("$");
  if (algorithm !== "pbkdf2-sha256" || !iterations || !salt || !hash) return null;
  return { iterations: Number(iterations), salt: fromBase64(salt), hash: fromBase64(hash) };
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parsed = parsePasswordHash(stored);
  if (!parsed || parsed.iterations > PBKDF2_MAX_ITERATIONS) return false;
  const candidate = await derive(password, parsed.salt, parsed.iterations);
  return timingSafeEqual(candidate, parsed.hash);
}

/** Verified against when the username is unknown, so both failures take the same time. */
export const DUMMY_PASSWORD_HASH =
  "pbkdf2-sha256$100000$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
