-- Gift cards shared over WhatsApp, the sharer's contacts, merchant redemption events, advertisements.

CREATE TABLE whatsapp_contacts (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  user_id INTEGER NOT NULL REFERENCES users (id),
  name TEXT NOT NULL DEFAULT '',
  phone_number TEXT NOT NULL,
  -- NULL = unknown: the WhatsApp Cloud API offers no contact check.
  is_on_whatsapp INTEGER,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
-- A re-synced number updates its row instead of duplicating it.
CREATE UNIQUE INDEX whatsapp_contacts_user_phone_idx ON whatsapp_contacts (user_id, phone_number);

CREATE TABLE gift_card_shares (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  source_redemption_id INTEGER NOT NULL REFERENCES voucher_redemptions (id),
  voucher_id INTEGER NOT NULL REFERENCES vouchers (id),
  sharer_id INTEGER NOT NULL REFERENCES users (id),
  recipient_phone TEXT NOT NULL,
  claim_reference TEXT NOT NULL UNIQUE,
  shared_via TEXT NOT NULL DEFAULT 'whatsapp',
  notification_id TEXT,
  is_claimed INTEGER NOT NULL DEFAULT 0,
  claimed_by INTEGER REFERENCES users (id),
  claimed_at TEXT,
  created_at TEXT NOT NULL,
  CONSTRAINT gift_share_claim_consistent CHECK ((is_claimed = 0 AND claimed_by IS NULL) OR (is_claimed = 1 AND claimed_by IS NOT NULL))
);
CREATE INDEX gift_card_shares_sharer_idx ON gift_card_shares (sharer_id, created_at);
CREATE INDEX gift_card_shares_source_idx ON gift_card_shares (source_redemption_id);

-- Who redeemed how much of a purchase, where and when. Written in the same batch as the decrement.
CREATE TABLE redemption_events (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  reference TEXT NOT NULL UNIQUE,
  redemption_id INTEGER NOT NULL REFERENCES voucher_redemptions (id),
  merchant_id INTEGER NOT NULL REFERENCES merchants (id),
  redeemed_by INTEGER NOT NULL REFERENCES users (id),
  quantity INTEGER NOT NULL CHECK (quantity >= 1),
  remaining_after INTEGER NOT NULL CHECK (remaining_after >= 0),
  location TEXT NOT NULL DEFAULT '',
  notes TEXT NOT NULL DEFAULT '',
  created_at TEXT NOT NULL
);
CREATE INDEX redemption_events_redemption_idx ON redemption_events (redemption_id, created_at);
CREATE INDEX redemption_events_merchant_idx ON redemption_events (merchant_id, created_at);

-- Dates are calendar days (YYYY-MM-DD, UTC); an ad shows from start_date through end_date.
CREATE TABLE advertisements (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  merchant_id INTEGER NOT NULL REFERENCES merchants (id),
  voucher_id INTEGER NOT NULL REFERENCES vouchers (id),
  banner_key TEXT,
  start_date TEXT NOT NULL,
  end_date TEXT NOT NULL,
  city TEXT NOT NULL DEFAULT '',
  state TEXT NOT NULL DEFAULT '',
  is_active INTEGER NOT NULL DEFAULT 1,
  transaction_id TEXT,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  CONSTRAINT advertisement_dates CHECK (end_date >= start_date)
);
CREATE INDEX advertisements_active_idx ON advertisements (is_active, end_date);
CREATE INDEX advertisements_location_idx ON advertisements (city COLLATE NOCASE, state COLLATE NOCASE);
CREATE INDEX advertisements_merchant_idx ON advertisements (merchant_id);
