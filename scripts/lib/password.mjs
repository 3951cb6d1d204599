// Password hashes in the format the worker verifies with WebCrypto:
//   pbkdf2-sha256$<iterations>$<salt base64>$<hash base64>
// 100,000 iterations is the most Workers allow for PBKDF2 in production.
import { pbkdf2Sync, randomBytes, timingSafeEqual } from "node:crypto";

export const PBKDF2_ITERATIONS = 100_000;
const SALT_BYTES = 16;
const HASH_BYTES = 32;

export function hashPassword(password, { iterations = PBKDF2_ITERATIONS, salt = randomBytes(SALT_BYTES) } = {}) {
  if (typeof password !== "string" || password.length === 0) throw new TypeError("password must be a non-empty string");
  const hash = pbkdf2Sync(Buffer.from(password, "utf8"), salt, iterations, HASH_BYTES, "sha256");
  return `pbkdf2-sha256$${iterations}$${Buffer.from(salt).toString("base64")}$${hash.toString("base64")}`;
}

export function verifyPassword(password, stored) {
  const [scheme, iterText, saltB64, hashB64] = String(stored).split("$");
  const iterations = Number(iterText);
  if (scheme !== "pbkdf2-sha256" || !Number.isSafeInteger(iterations) || iterations <= 0 || !saltB64 || !hashB64) {
    return false;
  }
  const expected = Buffer.from(hashB64, "base64");
  const actual = pbkdf2Sync(Buffer.from(password, "utf8"), Buffer.from(saltB64, "base64"), iterations, expected.length, "sha256");
  return expected.length === HASH_BYTES && timingSafeEqual(actual, expected);
}
