import { eq, sql } from "drizzle-orm";
import type { Env, Role } from "../../env";
import { createDb } from "../../db/client";
import { refreshTokens, users } from "../../db/schema";
import { ApiError, ErrorCode, notFound } from "../../lib/errors";
import { signToken, verifyToken, type RefreshClaims } from "../../lib/jwt";
import { DUMMY_PASSWORD_HASH, hashPassword, verifyPassword } from "../../lib/password";
import { nowIso, addSeconds } from "../../lib/time";
import { uuid } from "../../lib/ids";
import { parseAmount } from "../../lib/money";
import { walletApply } from "../wallet/wallet.service";
import { countLoginAttempt, loginSucceeded } from "./login-throttle";

type UserRow = typeof users.$inferSelect;

export function toProfile(user: UserRow) {
  return {
    id: user.id,
    username: user.username,
    email: user.email,
    first_name: user.firstName,
    last_name: user.lastName,
    phone: user.phone,
    role: user.role,
    date_joined: user.createdAt,
  };
}

const invalidCredentials = () =>
  new ApiError(401, ErrorCode.INVALID_CREDENTIALS, "Unable to log in with the provided credentials.");
const invalidRefresh = () => new ApiError(401, ErrorCode.TOKEN_INVALID, "The refresh token is invalid or has expired.");

export async function registerUser(
  env: Env,
  input: { username: string; password: string; email?: string; first_name?: string; last_name?: string; phone?: string },
) {
  const db = createDb(env.DB);
  const now = nowIso();
  const passwordHash = await hashPassword(input.password);
  const inserted = await db
    .insert(users)
    .values({
      username: input.username,
      email: input.email ?? null,
      firstName: input.first_name ?? "",
      lastName: input.last_name ?? "",
      phone: input.phone ?? null,
      role: "user",
      passwordHash,
      createdAt: now,
      updatedAt: now,
    })
    // The unique index is on the username without case: "Alice" is taken once "alice" exists.
    .onConflictDoNothing()
    .returning();
  const user = inserted[0];
  if (!user) throw new ApiError(409, ErrorCode.USERNAME_TAKEN, "A user with that username already exists.");

  const bonus = parseAmount(env.SIGNUP_BONUS || "0");
  if (bonus > 0) {
    await walletApply(env, {
      userId: user.id,
      amount: bonus,
      kind: "bonus",
      idempotencyKey: `signup-bonus:${user.id}`,
      note: "Sign-up bonus",
      transaction: { type: "BONUS", description: "Sign-up bonus" },
    });
  }
  return { user: toProfile(user), ...(await issueTokens(env, user, uuid())) };
}

/** `address` is the client's counting key (see clientAddressKey): failures are limited per account and per address. */
export async function login(env: Env, input: { username: string; password: string }, address: string) {
  await countLoginAttempt(env, input.username, address);
  const db = createDb(env.DB);
  // Usernames are compared without case (the unique index is COLLATE NOCASE, so this uses it).
  const user = await db.query.users.findFirst({ where: sql`${users.username} = ${input.username.trim()} COLLATE NOCASE` });
  // Same work and same answer for an unknown user and a wrong password.
  const ok = await verifyPassword(input.password, user?.passwordHash ?? DUMMY_PASSWORD_HASH);
  if (!user || !ok || !user.isActive) throw invalidCredentials();
  const [tokens] = await Promise.all([issueTokens(env, user, uuid()), loginSucceeded(env, input.username, address)]);
  return tokens;
}

export async function issueTokens(env: Env, user: Pick<UserRow, "id" | "role" | "username">, familyId: string) {
  const accessTtl = Number(env.ACCESS_TOKEN_TTL_SECONDS) || 900;
  const refreshTtl = Number(env.REFRESH_TOKEN_TTL_SECONDS) || 1_209_600;
  const jti = uuid();
  const now = nowIso();
  await createDb(env.DB)
    .insert(refreshTokens)
    .values({ jti, familyId, userId: user.id, expiresAt: addSeconds(now, refreshTtl), createdAt: now });
  const [access, refresh] = await Promise.all([
    signToken(env, "access", { sub: String(user.id), role: user.role as Role, username: user.username }, accessTtl),
    signToken(env, "refresh", { sub: String(user.id), jti, fam: familyId }, refreshTtl),
  ]);
  return { access, refresh, access_expires_in: accessTtl };
}

/**
 * How long a used refresh token may be presented again. A phone app that retries, or several
 * tabs refreshing at once, present the same token within moments; each gets its own new pair in
 * the same family and the user stays signed in (as Auth0's reuse interval does). Later reuse
 * means the token leaked: the whole family is revoked.
 */
export const REFRESH_GRACE_SECONDS = 30;

/** Rotation: each refresh token works once, plus the grace window above. */
export async function refreshSession(env: Env, refreshToken: string) {
  const claims = await verifyToken<RefreshClaims>(env, "refresh", refreshToken);
  if (!claims) throw invalidRefresh();
  const now = nowIso();
  const claimed = await env.DB.prepare(
    "UPDATE refresh_tokens SET used_at = ? WHERE jti = ? AND used_at IS NULL AND revoked_at IS NULL AND expires_at > ?",
  )
    .bind(now, claims.jti, now)
    .run();
  if (claimed.meta.changes !== 1) {
    const row = await env.DB.prepare("SELECT used_at, revoked_at, expires_at FROM refresh_tokens WHERE jti = ?")
      .bind(claims.jti)
      .first<{ used_at: string | null; revoked_at: string | null; expires_at: string }>();
    const inGrace =
      row !== null && row.used_at !== null && row.revoked_at === null && row.expires_at > now &&
      Date.parse(now) - Date.parse(row.used_at) <= REFRESH_GRACE_SECONDS * 1000;
    if (!inGrace) {
      await revokeFamily(env, claims.fam, now);
      throw new ApiError(401, ErrorCode.TOKEN_REUSED, "This refresh token was already used; the session has been ended. Please log in again.");
    }
  }
  const user = await createDb(env.DB).query.users.findFirst({ where: eq(users.id, Number(claims.sub)) });
  if (!user || !user.isActive) throw invalidRefresh();
  return issueTokens(env, user, claims.fam);
}

export async function logout(env: Env, refreshToken: string) {
  const claims = await verifyToken<RefreshClaims>(env, "refresh", refreshToken);
  if (!claims) throw invalidRefresh();
  await revokeFamily(env, claims.fam, nowIso());
}

async function revokeFamily(env: Env, familyId: string, now: string) {
  await env.DB.prepare("UPDATE refresh_tokens SET revoked_at = ? WHERE family_id = ? AND revoked_at IS NULL").bind(now, familyId).run();
}

export async function getProfile(env: Env, userId: number) {
  const user = await createDb(env.DB).query.users.findFirst({ where: eq(users.id, userId) });
  if (!user || !user.isActive) throw notFound("User");
  return toProfile(user);
}

export async function updateProfile(
  env: Env,
  userId: number,
  patch: { email?: string; first_name?: string; last_name?: string; phone?: string | null },
) {
  const updated = await createDb(env.DB)
    .update(users)
    .set({
      ...(patch.email !== undefined && { email: patch.email }),
      ...(patch.first_name !== undefined && { firstName: patch.first_name }),
      ...(patch.last_name !== undefined && { lastName: patch.last_name }),
      ...(patch.phone !== undefined && { phone: patch.phone }),
      updatedAt: nowIso(),
    })
    .where(eq(users.id, userId))
    .returning();
  if (!updated[0]) throw notFound("User");
  return toProfile(updated[0]);
}
