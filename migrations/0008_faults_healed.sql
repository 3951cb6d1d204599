-- What a fault can leave behind, recorded so it heals: queue messages nobody could route or
-- parse, activation messages the queue has not yet accepted, a partner told to cancel an
-- activation we refunded, and when an Idempotency-Key was claimed (so a dead claim expires).

-- A message for a queue without a consumer, or one that does not parse, is kept here and logged
-- instead of being acknowledged into nothing. One row per queue message, however often delivered.
CREATE TABLE dead_letters (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  queue TEXT NOT NULL,
  message_id TEXT NOT NULL,
  body TEXT NOT NULL,
  reason TEXT NOT NULL,
  attempts INTEGER NOT NULL,
  created_at TEXT NOT NULL
);
CREATE UNIQUE INDEX dead_letters_message_idx ON dead_letters (queue, message_id);

-- Written in the same D1 batch as an activation's debit and deleted once the queue accepted its
-- message: a charged activation whose queue send failed is relayed by the cron, never stranded.
CREATE TABLE activation_outbox (
  transaction_id TEXT PRIMARY KEY REFERENCES transactions (id),
  created_at TEXT NOT NULL
);

-- After we failed and refunded an activation the partner may still have provisioned it: it is
-- told to cancel (a signed call, retried until acknowledged), and the request and the partner's
-- acknowledgement are recorded on the transaction.
ALTER TABLE transactions ADD COLUMN partner_cancel_requested_at TEXT;
ALTER TABLE transactions ADD COLUMN partner_cancel_acknowledged_at TEXT;
ALTER TABLE transactions ADD COLUMN partner_cancel_attempts INTEGER NOT NULL DEFAULT 0;
CREATE INDEX transactions_partner_cancel_idx ON transactions (partner_cancel_requested_at) WHERE partner_cancel_requested_at IS NOT NULL AND partner_cancel_acknowledged_at IS NULL;

-- An in-progress claim older than the claim timeout can be taken over by a retry; the token makes
-- sure only the request holding the claim stores (or releases) the answer.
ALTER TABLE idempotency_keys ADD COLUMN claimed_at TEXT;
ALTER TABLE idempotency_keys ADD COLUMN claim_token TEXT;
