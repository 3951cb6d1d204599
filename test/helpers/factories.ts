import { env } from "cloudflare:workers";
import type { Role } from "../../src/env";
import { signToken } from "../../src/lib/jwt";
import { sha256Hex } from "../../src/lib/crypto";
import { hashPassword } from "../../src/lib/password";

let sequence = 0;
let cachedHash: Promise<string> | undefined;
export const DEFAULT_PASSWORD = "correct-horse-battery";

/** A unique suffix: storage is shared by the tests of one file. */
export const unique = (prefix = "u") => `${prefix}${Date.now().toString(36)}${(sequence++).toString(36)}${Math.random().toString(36).slice(2, 6)}`;

export interface TestUser {
  id: number;
  username: string;
  email: string;
  role: Role;
  token: string;
}

/**
 * Inserts a user (and wallet with `balance` minor units, with the matching ledger entry) directly,
 * and signs an access token for it, so feature tests do not pay for a login each.
 */
export async function createUser(options: { role?: Role; balance?: number; phone?: string; username?: string } = {}): Promise<TestUser> {
  const role = options.role ?? "user";
  const username = options.username ?? unique(role);
  const email = `${username}@example.test`;
  const now = new Date().toISOString();
  cachedHash ??= hashPassword(DEFAULT_PASSWORD);
  const row = await env.DB.prepare(
    "INSERT INTO users (username, email, first_name, last_name, phone, role, password_hash, created_at, updated_at) VALUES (?, ?, 'Test', 'User', ?, ?, ?, ?, ?) RETURNING id",
  )
    .bind(username, email, options.phone ?? null, role, await cachedHash, now, now)
    .first<{ id: number }>();
  const id = row!.id;
  const balance = options.balance ?? 0;
  const statements = [env.DB.prepare("INSERT INTO wallets (user_id, balance, updated_at) VALUES (?, ?, ?)").bind(id, balance, now)];
  if (balance > 0)
    statements.push(
      env.DB.prepare(
        "INSERT INTO ledger_entries (user_id, amount, balance_after, kind, idempotency_key, note, created_at) VALUES (?, ?, ?, 'credit', ?, 'test funds', ?)",
      ).bind(id, balance, balance, `test-funds:${id}`, now),
    );
  await env.DB.batch(statements);
  return { id, username, email, role, token: await accessTokenFor({ id, role, username }) };
}

export function accessTokenFor(user: { id: number; role: Role; username: string }, ttlSeconds = 900) {
  return signToken(env, "access", { sub: String(user.id), role: user.role, username: user.username }, ttlSeconds);
}

/** Inserts a valid client API key directly (as an admin's POST /admin/api-keys would) and returns it. */
export async function createApiKey(options: { scopes?: string[] } = {}): Promise<string> {
  const key = `pk_${unique("test")}${crypto.randomUUID().replaceAll("-", "")}`;
  await env.DB.prepare("INSERT INTO api_keys (name, prefix, key_hash, scopes, created_at) VALUES ('test key', ?, ?, ?, ?)")
    .bind(key.slice(0, 10), await sha256Hex(key), (options.scopes ?? []).join(" "), new Date().toISOString())
    .run();
  return key;
}

/** Wallet balance and ledger sum, for conservation checks. */
export async function walletState(userId: number) {
  const row = await env.DB.prepare(
    "SELECT (SELECT balance FROM wallets WHERE user_id = ?1) AS balance, (SELECT COALESCE(SUM(amount), 0) FROM ledger_entries WHERE user_id = ?1) AS ledger_sum, (SELECT COUNT(*) FROM ledger_entries WHERE user_id = ?1 AND amount < 0) AS debits",
  )
    .bind(userId)
    .first<{ balance: number; ledger_sum: number; debits: number }>();
  return row!;
}
