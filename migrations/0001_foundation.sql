-- Foundation: users and auth, wallets and ledger, transactions, notifications, settings.
-- Plain SQL applied by `wrangler d1 migrations apply` (and by the test setup). The drizzle schema in
-- src/db/schema mirrors these tables; test/db/schema-matches-migrations.test.ts checks they agree.

CREATE TABLE users (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  username TEXT NOT NULL UNIQUE,
  email TEXT,
  first_name TEXT NOT NULL DEFAULT '',
  last_name TEXT NOT NULL DEFAULT '',
  phone TEXT,
  role TEXT NOT NULL DEFAULT 'user' CHECK (role IN ('user', 'merchant', 'admin')),
  password_hash TEXT NOT NULL,
  is_active INTEGER NOT NULL DEFAULT 1,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE INDEX users_email_idx ON users (email);

CREATE TABLE refresh_tokens (
  jti TEXT PRIMARY KEY,
  family_id TEXT NOT NULL,
  user_id INTEGER NOT NULL REFERENCES users (id),
  expires_at TEXT NOT NULL,
  used_at TEXT,
  revoked_at TEXT,
  created_at TEXT NOT NULL
);
CREATE INDEX refresh_tokens_family_idx ON refresh_tokens (family_id);

CREATE TABLE api_keys (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  name TEXT NOT NULL,
  prefix TEXT NOT NULL,
  key_hash TEXT NOT NULL UNIQUE,
  created_by INTEGER REFERENCES users (id),
  created_at TEXT NOT NULL,
  revoked_at TEXT
);

CREATE TABLE idempotency_keys (
  scope TEXT PRIMARY KEY,
  request_hash TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('in_progress', 'done')),
  response_status INTEGER,
  response_body TEXT,
  created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP
);

CREATE TABLE webhook_nonces (
  nonce TEXT PRIMARY KEY,
  source TEXT NOT NULL,
  created_at TEXT NOT NULL
);

CREATE TABLE wallets (
  user_id INTEGER PRIMARY KEY REFERENCES users (id),
  balance INTEGER NOT NULL DEFAULT 0,
  updated_at TEXT NOT NULL,
  CONSTRAINT wallet_non_negative CHECK (balance >= 0)
);

CREATE TABLE ledger_entries (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  user_id INTEGER NOT NULL REFERENCES users (id),
  amount INTEGER NOT NULL,
  balance_after INTEGER NOT NULL,
  kind TEXT NOT NULL,
  transaction_id TEXT,
  idempotency_key TEXT NOT NULL,
  note TEXT NOT NULL DEFAULT '',
  created_at TEXT NOT NULL
);
CREATE UNIQUE INDEX ledger_entries_user_key_idx ON ledger_entries (user_id, idempotency_key);
CREATE INDEX ledger_entries_transaction_idx ON ledger_entries (transaction_id);
-- Append-only: the ledger refuses edits and deletions at the database level.
CREATE TRIGGER ledger_entries_no_update BEFORE UPDATE ON ledger_entries
BEGIN SELECT RAISE(ABORT, 'ledger_append_only'); END;
CREATE TRIGGER ledger_entries_no_delete BEFORE DELETE ON ledger_entries
BEGIN SELECT RAISE(ABORT, 'ledger_append_only'); END;

CREATE TABLE transactions (
  id TEXT PRIMARY KEY,
  user_id INTEGER NOT NULL REFERENCES users (id),
  type TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('PENDING', 'SUCCESS', 'FAILED', 'REFUNDED', 'CANCELLED')),
  amount INTEGER NOT NULL,
  offer_id INTEGER,
  reference TEXT,
  description TEXT NOT NULL DEFAULT '',
  failure_reason TEXT,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE INDEX transactions_user_idx ON transactions (user_id, created_at);

CREATE TABLE site_settings (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
INSERT INTO site_settings (key, value, updated_at) VALUES
  ('voucher_cost', '1000', '2026-01-01T00:00:00.000Z'),
  ('advertisement_cost', '1000', '2026-01-01T00:00:00.000Z'),
  ('advertisement_extension_cost_per_day', '100', '2026-01-01T00:00:00.000Z');

CREATE TABLE notifications (
  id TEXT PRIMARY KEY,
  user_id INTEGER REFERENCES users (id),
  customer_id INTEGER,
  channel TEXT NOT NULL CHECK (channel IN ('email', 'telegram', 'whatsapp')),
  recipient TEXT NOT NULL,
  title TEXT NOT NULL,
  message TEXT NOT NULL,
  priority TEXT NOT NULL DEFAULT 'normal' CHECK (priority IN ('low', 'normal', 'high', 'urgent')),
  category TEXT NOT NULL DEFAULT 'system',
  status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'queued', 'sent', 'failed', 'skipped')),
  attempts INTEGER NOT NULL DEFAULT 0,
  last_error TEXT,
  dedupe_key TEXT UNIQUE,
  scheduled_at TEXT,
  sent_at TEXT,
  provider_message_id TEXT,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE INDEX notifications_user_idx ON notifications (user_id, created_at);
