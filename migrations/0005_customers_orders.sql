-- Customers (contact records a user owns), their notification preferences, orders and their
-- status history, the sandbox outbox, and the delivery lease on notifications.

CREATE TABLE customers (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  owner_user_id INTEGER NOT NULL REFERENCES users (id),
  name TEXT NOT NULL,
  email TEXT,
  phone TEXT,
  telegram_chat_id TEXT,
  address TEXT NOT NULL DEFAULT '',
  city TEXT NOT NULL DEFAULT '',
  country TEXT NOT NULL DEFAULT '',
  postal_code TEXT NOT NULL DEFAULT '',
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE INDEX customers_owner_idx ON customers (owner_user_id, created_at);
-- An order finds "the caller's customer" by email: one record per owner and address, so
-- concurrent first orders cannot create two.
CREATE UNIQUE INDEX customers_owner_email_idx ON customers (owner_user_id, email) WHERE email IS NOT NULL;

-- No row means the defaults: every channel on, order updates on, promotional off.
CREATE TABLE notification_preferences (
  customer_id INTEGER PRIMARY KEY REFERENCES customers (id) ON DELETE CASCADE,
  email_enabled INTEGER NOT NULL DEFAULT 1,
  telegram_enabled INTEGER NOT NULL DEFAULT 1,
  whatsapp_enabled INTEGER NOT NULL DEFAULT 1,
  order_updates INTEGER NOT NULL DEFAULT 1,
  promotional INTEGER NOT NULL DEFAULT 0,
  updated_at TEXT NOT NULL
);

CREATE TABLE orders (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  order_number TEXT NOT NULL UNIQUE,
  user_id INTEGER NOT NULL REFERENCES users (id),
  customer_id INTEGER NOT NULL REFERENCES customers (id),
  status TEXT NOT NULL DEFAULT 'pending'
    CHECK (status IN ('pending', 'confirmed', 'processing', 'shipped', 'delivered', 'cancelled', 'refunded')),
  total_amount INTEGER NOT NULL CHECK (total_amount >= 0),
  currency TEXT NOT NULL DEFAULT 'INR',
  shipping_address TEXT NOT NULL DEFAULT '',
  shipping_method TEXT NOT NULL DEFAULT '',
  tracking_number TEXT NOT NULL UNIQUE,
  notes TEXT NOT NULL DEFAULT '',
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE INDEX orders_user_idx ON orders (user_id, created_at);
CREATE INDEX orders_customer_idx ON orders (customer_id);

CREATE TABLE order_status_history (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  order_id INTEGER NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
  from_status TEXT,
  to_status TEXT NOT NULL,
  changed_by INTEGER REFERENCES users (id),
  created_at TEXT NOT NULL
);
CREATE INDEX order_status_history_order_idx ON order_status_history (order_id, id);

-- What the sandbox provider "sent" when a channel has no credentials (local development).
CREATE TABLE notification_outbox (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  notification_id TEXT NOT NULL UNIQUE,
  channel TEXT NOT NULL,
  recipient TEXT NOT NULL,
  title TEXT NOT NULL,
  message TEXT NOT NULL,
  created_at TEXT NOT NULL
);

-- A delivery claims the row until this time, so two deliveries of one message cannot both send.
ALTER TABLE notifications ADD COLUMN lease_until TEXT;
CREATE INDEX notifications_status_scheduled_idx ON notifications (status, scheduled_at);
