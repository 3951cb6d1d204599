-- Offers API: offers, and the subscriptions an activation creates (pending until the partner answers).
-- Prices are integers of minor units. Times are ISO 8601 UTC text.

CREATE TABLE offers (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  name TEXT NOT NULL,
  description TEXT NOT NULL DEFAULT '',
  price INTEGER NOT NULL CHECK (price > 0),
  duration_days INTEGER NOT NULL CHECK (duration_days > 0),
  is_active INTEGER NOT NULL DEFAULT 1,
  partner TEXT NOT NULL DEFAULT '',
  -- What the sandbox partner (used when PARTNER_API_URL is unset) answers for this offer.
  sandbox_outcome TEXT NOT NULL DEFAULT 'succeed' CHECK (sandbox_outcome IN ('succeed', 'fail')),
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE INDEX offers_active_idx ON offers (is_active, id);

CREATE TABLE subscriptions (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  user_id INTEGER NOT NULL REFERENCES users (id),
  offer_id INTEGER NOT NULL REFERENCES offers (id),
  -- The activation (or partner activation) transaction that created it: one subscription each.
  transaction_id TEXT NOT NULL UNIQUE,
  -- Reference a partner validates (GET /partner/validate/{reference}/).
  reference TEXT NOT NULL UNIQUE,
  -- Named so the activation completion can abort its refund batch when the activation is no
  -- longer pending (it writes an invalid status, which this CHECK refuses).
  status TEXT NOT NULL CONSTRAINT subscription_status_valid CHECK (status IN ('pending', 'active', 'failed', 'expired')),
  starts_at TEXT,
  ends_at TEXT,
  -- Set once the expiry notice for the current ends_at went out; a renewal clears it.
  expiry_notified_at TEXT,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE INDEX subscriptions_user_idx ON subscriptions (user_id, status, ends_at);
CREATE INDEX subscriptions_status_ends_idx ON subscriptions (status, ends_at);
