import { jwtVerify, SignJWT, decodeProtectedHeader, errors as joseErrors, type JWTPayload } from "jose";
import type { Env, Role } from "../env";
import { ApiError, ErrorCode } from "./errors";

/**
 * HS256 only (pinned), `iss`/`aud`/`exp` required, a `typ` claim so access and refresh tokens are
 * never interchangeable, and `kid` so a secret can be rotated: the previous one keeps verifying
 * until its tokens expire.
 */
const ALGORITHM = "HS256";
export type TokenType = "access" | "refresh";

export interface AccessClaims {
  sub: string;
  role: Role;
  username: string;
}
export interface RefreshClaims {
  sub: string;
  jti: string;
  fam: string;
}

type KeyEnv = Pick<Env, "JWT_SECRET" | "JWT_KID" | "JWT_PREVIOUS_SECRET" | "JWT_PREVIOUS_KID" | "JWT_ISSUER" | "JWT_AUDIENCE">;

const encoder = new TextEncoder();
const currentKid = (env: KeyEnv) => env.JWT_KID || "k1";

/** Without a signing key nobody can sign in: a clear 503, not a 500 deep inside jose. */
export function requireSecret(env: Pick<Env, "JWT_SECRET">): string {
  if (!env.JWT_SECRET) throw new ApiError(503, ErrorCode.MISCONFIGURED, "Sign-in is unavailable: the server has no JWT_SECRET configured.");
  return env.JWT_SECRET;
}

function secretFor(env: KeyEnv, kid: string | undefined): string | null {
  requireSecret(env);
  if (kid === currentKid(env)) return env.JWT_SECRET;
  if (env.JWT_PREVIOUS_SECRET && kid === (env.JWT_PREVIOUS_KID || "k0")) return env.JWT_PREVIOUS_SECRET;
  return null;
}

/**
 * The HMAC key of a secret, imported once per isolate: jose imports a raw secret again on every
 * call, which is a measurable share of a signed-in request.
 */
const keys = new Map<string, Promise<CryptoKey>>();
function hmacKey(secret: string): Promise<CryptoKey> {
  let key = keys.get(secret);
  if (!key) {
    key = crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"]);
    keys.set(secret, key);
  }
  return key;
}

export async function signToken(
  env: KeyEnv,
  type: TokenType,
  claims: Record<string, unknown> & { sub: string },
  ttlSeconds: number,
): Promise<string> {
  const { sub, ...rest } = claims;
  return new SignJWT({ ...rest, typ: type })
    .setProtectedHeader({ alg: ALGORITHM, kid: currentKid(env) })
    .setSubject(sub)
    .setIssuer(env.JWT_ISSUER)
    .setAudience(env.JWT_AUDIENCE)
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + ttlSeconds)
    .sign(await hmacKey(requireSecret(env)));
}

/**
 * Access tokens already verified in this isolate, by their text: a till sends the same token with
 * every scan, and the signature check with its base64 and JSON decoding was a large share of a
 * signed-in request. An entry answers only while the token is unexpired (jose's rule: `exp` after
 * now, in seconds) and for the same secret, issuer and audience; otherwise it is verified again.
 */
const VERIFIED_MAX = 1000;
interface Verified {
  payload: JWTPayload & { exp: number };
  kid: string | undefined;
  secret: string;
  issuer: string;
  audience: string;
}
const verified = new Map<string, Verified>();

function remembered(env: KeyEnv, token: string): Verified | null {
  const hit = verified.get(token);
  if (!hit) return null;
  if (hit.payload.exp > Math.floor(Date.now() / 1000) && hit.issuer === env.JWT_ISSUER && hit.audience === env.JWT_AUDIENCE && secretFor(env, hit.kid) === hit.secret)
    return hit;
  verified.delete(token);
  return null;
}

function remember(env: KeyEnv, token: string, kid: string | undefined, secret: string, payload: JWTPayload) {
  // Only what the fast path can recheck exactly: an expiry and no not-before.
  if (typeof payload.exp !== "number" || payload.nbf !== undefined) return;
  if (verified.size >= VERIFIED_MAX) verified.delete(verified.keys().next().value!);
  verified.set(token, { payload: payload as Verified["payload"], kid, secret, issuer: env.JWT_ISSUER, audience: env.JWT_AUDIENCE });
}

/** Returns the claims, or null for any token that is not a valid token of `type`. */
export async function verifyToken<T>(env: KeyEnv, type: TokenType, token: string): Promise<(T & { exp: number }) | null> {
  try {
    const hit = type === "access" ? remembered(env, token) : null;
    if (hit) return hit.payload.typ === type ? ({ ...hit.payload } as unknown as T & { exp: number }) : null;
    const header = decodeProtectedHeader(token);
    if (header.alg !== ALGORITHM) return null;
    const secret = secretFor(env, header.kid);
    if (!secret) return null;
    const { payload } = await jwtVerify(token, await hmacKey(secret), {
      algorithms: [ALGORITHM],
      issuer: env.JWT_ISSUER,
      audience: env.JWT_AUDIENCE,
      requiredClaims: ["exp", "iat", "sub", "typ"],
    });
    if (payload.typ !== type) return null;
    if (type === "access") remember(env, token, header.kid, secret, payload);
    return { ...payload } as unknown as T & { exp: number };
  } catch (error) {
    if (error instanceof joseErrors.JOSEError || error instanceof TypeError || error instanceof SyntaxError) return null;
    throw error;
  }
}
