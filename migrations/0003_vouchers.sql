-- Voucher marketplace: merchants, categories, vouchers, purchases (redemptions).
-- Money-like values (bills, flat amounts, costs) are integers of hundredths; percentage_value too (50.00% = 5000).

CREATE TABLE merchants (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  user_id INTEGER NOT NULL UNIQUE REFERENCES users (id),
  business_name TEXT NOT NULL,
  category TEXT NOT NULL DEFAULT '',
  phone TEXT,
  address TEXT NOT NULL DEFAULT '',
  city TEXT NOT NULL DEFAULT '',
  state TEXT NOT NULL DEFAULT '',
  is_active INTEGER NOT NULL DEFAULT 1,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);

CREATE TABLE categories (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  name TEXT NOT NULL UNIQUE,
  description TEXT NOT NULL DEFAULT '',
  is_active INTEGER NOT NULL DEFAULT 1,
  created_at TEXT NOT NULL
);

CREATE TABLE vouchers (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  uuid TEXT NOT NULL UNIQUE,
  merchant_id INTEGER NOT NULL REFERENCES merchants (id),
  category_id INTEGER REFERENCES categories (id),
  title TEXT NOT NULL,
  message TEXT NOT NULL DEFAULT '',
  terms_conditions TEXT NOT NULL DEFAULT '',
  voucher_type INTEGER NOT NULL CHECK (voucher_type IN (1, 2, 3)),
  percentage_value INTEGER,
  percentage_min_bill INTEGER,
  flat_amount INTEGER,
  flat_min_bill INTEGER,
  product_name TEXT,
  product_min_bill INTEGER,
  count INTEGER CHECK (count IS NULL OR count >= 0),
  sold_count INTEGER NOT NULL DEFAULT 0,
  redemptions_per_purchase INTEGER NOT NULL DEFAULT 1 CHECK (redemptions_per_purchase >= 1),
  validity_days INTEGER NOT NULL DEFAULT 365 CHECK (validity_days >= 1),
  valid_from TEXT,
  valid_until TEXT,
  is_gift_card INTEGER NOT NULL DEFAULT 0,
  is_active INTEGER NOT NULL DEFAULT 1,
  is_featured INTEGER NOT NULL DEFAULT 0,
  image_key TEXT,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  CONSTRAINT voucher_stock CHECK (sold_count >= 0 AND (count IS NULL OR sold_count <= count))
);
CREATE INDEX vouchers_merchant_idx ON vouchers (merchant_id);
CREATE INDEX vouchers_active_category_idx ON vouchers (is_active, category_id);

CREATE TABLE voucher_redemptions (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  uuid TEXT NOT NULL UNIQUE,
  voucher_id INTEGER NOT NULL REFERENCES vouchers (id),
  merchant_id INTEGER NOT NULL REFERENCES merchants (id),
  user_id INTEGER NOT NULL REFERENCES users (id),
  purchase_reference TEXT NOT NULL UNIQUE,
  purchase_status TEXT NOT NULL DEFAULT 'purchased' CHECK (purchase_status IN ('purchased', 'redeemed', 'expired', 'cancelled', 'refunded')),
  is_gift_voucher INTEGER NOT NULL DEFAULT 0,
  gift_share_id INTEGER UNIQUE,
  source_redemption_id INTEGER,
  purchase_cost INTEGER NOT NULL DEFAULT 0,
  transaction_id TEXT,
  total_redemptions INTEGER NOT NULL,
  remaining_redemptions INTEGER NOT NULL,
  purchased_at TEXT NOT NULL,
  expiry_date TEXT NOT NULL,
  status_reason TEXT,
  status_changed_at TEXT,
  last_redeemed_at TEXT,
  updated_at TEXT NOT NULL,
  CONSTRAINT redemption_remaining CHECK (remaining_redemptions >= 0 AND remaining_redemptions <= total_redemptions)
);
CREATE INDEX voucher_redemptions_user_idx ON voucher_redemptions (user_id, purchased_at);
CREATE INDEX voucher_redemptions_voucher_idx ON voucher_redemptions (voucher_id, purchased_at);
CREATE INDEX voucher_redemptions_status_expiry_idx ON voucher_redemptions (purchase_status, expiry_date);
