import { createMiddleware } from "hono/factory";
import type { AppBindings, Role } from "../env";
import { ApiError, ErrorCode, forbidden, unauthenticated } from "../lib/errors";
import { verifyToken, type AccessClaims } from "../lib/jwt";
import { withTrait } from "../lib/route-traits";
import { isUserActive } from "./active-users";

/** `Authorization: Bearer <access>` or `Token <access>` (the notification spec's form). */
function bearerToken(header: string | undefined): string | null {
  if (!header) return null;
  const match = /^(Bearer|Token)\s+(\S+)$/i.exec(header.trim());
  return match?.[2] ?? null;
}

async function authenticate(c: Parameters<Parameters<typeof createMiddleware<AppBindings>>[0]>[0], required: boolean) {
  const token = bearerToken(c.req.header("authorization"));
  if (!token) {
    if (required) throw unauthenticated();
    return;
  }
  const claims = await verifyToken<AccessClaims>(c.env, "access", token);
  if (!claims) throw new ApiError(401, ErrorCode.TOKEN_INVALID, "The access token is invalid or has expired.");
  if (!(await isUserActive(c.env, Number(claims.sub)))) {
    throw new ApiError(401, ErrorCode.TOKEN_INVALID, "This account is deactivated; its tokens no longer work.");
  }
  c.set("auth", { userId: Number(claims.sub), role: claims.role, username: claims.username, tokenExpiresAt: claims.exp });
  // Personal data must never sit in a shared cache.
  c.header("Cache-Control", "no-store");
}

export const requireAuth = createMiddleware<AppBindings>(async (c, next) => {
  await authenticate(c, true);
  await next();
});

/** Public routes that answer more for a signed-in caller (e.g. `is_purchased`). */
export const optionalAuth = createMiddleware<AppBindings>(async (c, next) => {
  await authenticate(c, false);
  await next();
});

/**
 * Probes (health): a valid token is read as by optionalAuth, but a missing, invalid or expired
 * token, a deactivated account, or a server that cannot check tokens at all leaves the caller
 * anonymous instead of answering 401 or 503: a load balancer's check must never fail on a token.
 */
export const probeAuth = withTrait("probe-auth", createMiddleware<AppBindings>(async (c, next) => {
  try {
    await authenticate(c, false);
  } catch {
    // anonymous: the public answer
  }
  await next();
}));

export const requireRole = (...roles: Role[]) =>
  withTrait("role", createMiddleware<AppBindings>(async (c, next) => {
    const auth = c.get("auth");
    if (!auth) throw unauthenticated();
    if (!roles.includes(auth.role)) throw forbidden();
    await next();
  }));

/** The authenticated caller; use only behind requireAuth. */
export function currentUser(c: { get(key: "auth"): AppBindings["Variables"]["auth"] }) {
  const auth = c.get("auth");
  if (!auth) throw unauthenticated();
  return auth;
}
