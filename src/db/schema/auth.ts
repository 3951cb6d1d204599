import { sql } from "drizzle-orm";
import { index, integer, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

export const users = sqliteTable(
  "users",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    username: text("username").notNull().unique(),
    email: text("email"),
    firstName: text("first_name").notNull().default(""),
    lastName: text("last_name").notNull().default(""),
    phone: text("phone"),
    role: text("role", { enum: ["user", "merchant", "admin"] }).notNull().default("user"),
    /** `pbkdf2-sha256$<iterations>$<salt b64>$<hash b64>`: parameters live beside the hash. */
    passwordHash: text("password_hash").notNull(),
    isActive: integer("is_active", { mode: "boolean" }).notNull().default(true),
    createdAt: text("created_at").notNull(),
    updatedAt: text("updated_at").notNull(),
  },
  // Migration 0007: one username whatever its case.
  (t) => [uniqueIndex("users_username_nocase_idx").on(sql`${t.username} COLLATE NOCASE`), index("users_email_idx").on(t.email)],
);

/** One row per issued refresh token; a family is one login's chain of rotations. */
export const refreshTokens = sqliteTable(
  "refresh_tokens",
  {
    jti: text("jti").primaryKey(),
    familyId: text("family_id").notNull(),
    userId: integer("user_id").notNull().references(() => users.id),
    expiresAt: text("expires_at").notNull(),
    usedAt: text("used_at"),
    revokedAt: text("revoked_at"),
    createdAt: text("created_at").notNull(),
  },
  (t) => [index("refresh_tokens_family_idx").on(t.familyId)],
);

export const apiKeys = sqliteTable("api_keys", {
  id: integer("id").primaryKey({ autoIncrement: true }),
  name: text("name").notNull(),
  prefix: text("prefix").notNull(),
  keyHash: text("key_hash").notNull().unique(),
  createdBy: integer("created_by").references(() => users.id),
  createdAt: text("created_at").notNull(),
  revokedAt: text("revoked_at"),
  /** Space-separated; `notifications:send` lets the client message any recipient. */
  scopes: text("scopes").notNull().default(""),
});

/** Stored first responses for `Idempotency-Key`, scoped per caller and route. */
export const idempotencyKeys = sqliteTable("idempotency_keys", {
  scope: text("scope").primaryKey(),
  requestHash: text("request_hash").notNull(),
  state: text("state", { enum: ["in_progress", "done"] }).notNull(),
  responseStatus: integer("response_status"),
  responseBody: text("response_body"),
  createdAt: text("created_at").notNull().default(sql`CURRENT_TIMESTAMP`),
  /** When the current claim was taken (ISO); an in-progress claim older than the timeout can be taken over. */
  claimedAt: text("claimed_at"),
  /** Identifies the request holding the claim: only it stores or releases the answer. */
  claimToken: text("claim_token"),
});

/** Signed webhook nonces already seen: a replayed callback is refused. */
export const webhookNonces = sqliteTable("webhook_nonces", {
  nonce: text("nonce").primaryKey(),
  source: text("source").notNull(),
  createdAt: text("created_at").notNull(),
});
