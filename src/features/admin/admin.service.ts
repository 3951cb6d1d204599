import { and, count, desc, eq, isNull } from "drizzle-orm";
import { createDb } from "../../db/client";
import { apiKeys, deadLetters, refreshTokens, users } from "../../db/schema";
import type { Env } from "../../env";
import { sha256Hex } from "../../lib/crypto";
import { notFound, validationError } from "../../lib/errors";
import { randomToken } from "../../lib/ids";
import { pageWindow, paginated, type Pagination } from "../../lib/pagination";
import { formatAmount, parseAmount } from "../../lib/money";
import { nowIso } from "../../lib/time";
import { forgetUserStatus } from "../../middleware/active-users";
import { forgetApiKey } from "../../middleware/api-key";
import { walletApply } from "../wallet/wallet.service";

type ApiKeyRow = typeof apiKeys.$inferSelect;

export function toApiKey(row: ApiKeyRow) {
  return { id: row.id, name: row.name, prefix: row.prefix, scopes: row.scopes.split(" ").filter(Boolean), created_at: row.createdAt, revoked_at: row.revokedAt };
}

/** Adds funds to a user's wallet (a ledger entry of kind credit), once per idempotency key. */
export async function creditWallet(
  env: Env,
  input: { userId: number; amount: string | number; reason: string; adminName: string; idempotencyKey?: string },
) {
  const minor = parseAmount(input.amount);
  // A credit of nothing is a mistake, not an operation: it would move no money yet claim a transaction.
  if (minor <= 0) throw validationError("amount must be more than 0.00.", { fields: ["amount"] });
  const user = await createDb(env.DB).query.users.findFirst({ where: eq(users.id, input.userId), columns: { id: true } });
  if (!user) throw notFound("User");
  const result = await walletApply(env, {
    userId: input.userId,
    amount: minor,
    kind: "credit",
    idempotencyKey: `credit:${input.idempotencyKey ?? `admin-credit:${crypto.randomUUID()}`}`,
    note: `${input.reason} (by admin ${input.adminName})`,
    transaction: { type: "CREDIT", description: input.reason },
  });
  if (!result.ok) throw new Error(`wallet credit refused: ${result.reason}`);
  return { user_id: input.userId, amount: formatAmount(minor), balance: formatAmount(result.balance), transaction_id: result.transactionId, replayed: result.replayed };
}

/** A new client key: shown once in the answer; only its hash is stored. */
export async function createApiKey(env: Pick<Env, "DB">, createdBy: number, input: { name: string; scopes?: string[] }) {
  const key = `pk_${randomToken(24)}`;
  const [row] = await createDb(env.DB)
    .insert(apiKeys)
    .values({ name: input.name, scopes: [...new Set(input.scopes ?? [])].join(" "), prefix: key.slice(0, 10), keyHash: await sha256Hex(key), createdBy, createdAt: nowIso() })
    .returning();
  return { ...toApiKey(row!), key };
}

export async function listApiKeys(env: Pick<Env, "DB">) {
  const rows = await createDb(env.DB).select().from(apiKeys).orderBy(desc(apiKeys.id)).limit(500);
  return { results: rows.map(toApiKey) };
}

/** Revoked at once in this isolate; other isolates stop accepting it within their cache minute. */
export async function revokeApiKey(env: Pick<Env, "DB">, id: number) {
  const [row] = await createDb(env.DB).update(apiKeys).set({ revokedAt: nowIso() }).where(eq(apiKeys.id, id)).returning();
  if (!row) throw notFound("API key");
  forgetApiKey(row.keyHash);
  return toApiKey(row);
}

/**
 * Deactivates or reactivates a user. Deactivating also revokes their refresh tokens in the same
 * batch, so their sessions end; their access tokens stop working within the status cache's half minute.
 */
export async function setUserActive(env: Pick<Env, "DB">, userId: number, active: boolean) {
  const db = createDb(env.DB);
  const now = nowIso();
  const update = db.update(users).set({ isActive: active, updatedAt: now }).where(eq(users.id, userId)).returning({ id: users.id, username: users.username });
  const [updated] = active
    ? [await update]
    : await db.batch([update, db.update(refreshTokens).set({ revokedAt: now }).where(and(eq(refreshTokens.userId, userId), isNull(refreshTokens.revokedAt)))]);
  const row = updated[0];
  if (!row) throw notFound("User");
  forgetUserStatus(userId);
  return { user_id: row.id, username: row.username, is_active: active };
}

type DeadLetterRow = typeof deadLetters.$inferSelect;
const toDeadLetter = (row: DeadLetterRow) => ({
  id: row.id, queue: row.queue, message_id: row.messageId, body: row.body, reason: row.reason, attempts: row.attempts, created_at: row.createdAt,
});

/** Queue messages set aside because nothing could route or parse them, newest first. */
export async function listDeadLetters(env: Pick<Env, "DB">, requestUrl: string, query: Pagination & { queue?: string }) {
  const db = createDb(env.DB);
  const where = query.queue ? eq(deadLetters.queue, query.queue) : undefined;
  const { limit, offset } = pageWindow(query);
  const [rows, [total]] = await db.batch([
    db.select().from(deadLetters).where(where).orderBy(desc(deadLetters.id)).limit(limit).offset(offset),
    db.select({ n: count() }).from(deadLetters).where(where),
  ]);
  return paginated(requestUrl, query, total!.n, rows.map(toDeadLetter));
}

/** Dismisses a dead letter once someone has dealt with it (its message is not sent again). */
export async function dismissDeadLetter(env: Pick<Env, "DB">, id: number) {
  const [row] = await createDb(env.DB).delete(deadLetters).where(eq(deadLetters.id, id)).returning();
  if (!row) throw notFound("Dead letter");
  return toDeadLetter(row);
}
