-- Trust: usernames without case, scoped API keys, counters for login failures and messages,
-- recipients who opted out, and indexes for the health check's backlog counts.

-- A username is one name whatever its case ("Alice" is "alice", "ADMIN" is "admin"). Where
-- accounts already differ only in case, the oldest keeps the name and each later one is renamed
-- to "<name>~<id>" ("~" cannot be registered, so the new name clashes with nothing). Renamed
-- accounts keep their password and data; they sign in with the new name, which an admin tells them.
UPDATE users SET username = username || '~' || id
 WHERE id NOT IN (SELECT MIN(id) FROM users GROUP BY lower(username));
CREATE UNIQUE INDEX users_username_nocase_idx ON users (username COLLATE NOCASE);

-- Space-separated scopes; `notifications:send` lets a client send free text to any recipient.
ALTER TABLE api_keys ADD COLUMN scopes TEXT NOT NULL DEFAULT '';

-- Fixed-window counters: failed logins per account and per address, messages per sender, and
-- messages per recipient per day. A window restarts when it has ended.
CREATE TABLE rate_counters (
  key TEXT PRIMARY KEY,
  count INTEGER NOT NULL,
  window_started_at TEXT NOT NULL
);
CREATE INDEX rate_counters_window_idx ON rate_counters (window_started_at);

-- Recipients who followed an opt-out link: non-transactional messages to them are not sent.
CREATE TABLE notification_opt_outs (
  channel TEXT NOT NULL,
  recipient TEXT NOT NULL,
  created_at TEXT NOT NULL,
  PRIMARY KEY (channel, recipient)
);

-- The health check counts stuck work; these keep those counts off a table scan.
CREATE INDEX transactions_status_type_created_idx ON transactions (status, type, created_at);
CREATE INDEX notifications_status_updated_idx ON notifications (status, updated_at);
