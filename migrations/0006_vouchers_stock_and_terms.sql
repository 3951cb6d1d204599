-- Bounded liability: what a merchant issued is all it owes.
--   * A claimed gift-card copy takes a unit of the voucher's stock, under the same guard as a purchase.
--   * One purchase can be shared to at most `max_shares_per_purchase` people (frozen on the purchase).
--   * A purchase (and each claimed copy) keeps the terms it was sold with; later edits apply to new sales.
--   * An advertisement runs at most `advertisement_max_days` days, counted from today or its start.
-- Guards only refuse changes that make things worse, so rows written before them stay usable.

-- Stock -----------------------------------------------------------------------------------------

ALTER TABLE vouchers ADD COLUMN claimed_count INTEGER NOT NULL DEFAULT 0 CONSTRAINT voucher_claimed_count CHECK (claimed_count >= 0);
ALTER TABLE vouchers ADD COLUMN max_shares_per_purchase INTEGER NOT NULL DEFAULT 5
  CONSTRAINT voucher_max_shares CHECK (max_shares_per_purchase BETWEEN 1 AND 20);

UPDATE vouchers SET claimed_count = (
  SELECT COUNT(*) FROM voucher_redemptions r
   WHERE r.voucher_id = vouchers.id AND r.is_gift_voucher = 1 AND r.purchase_status NOT IN ('cancelled', 'refunded'));

-- Purchases plus claimed copies never exceed the stock. Refuses a sale, a claim or a lower count
-- that would pass it (a cancel that lowers the total is always allowed).
CREATE TRIGGER vouchers_stock_guard
BEFORE UPDATE OF sold_count, claimed_count, count ON vouchers
WHEN NEW.count IS NOT NULL AND NEW.sold_count + NEW.claimed_count > NEW.count
  AND (NEW.sold_count + NEW.claimed_count > OLD.sold_count + OLD.claimed_count OR OLD.count IS NULL OR NEW.count < OLD.count)
BEGIN
  SELECT RAISE(ABORT, 'voucher_stock');
END;

-- Frozen terms ----------------------------------------------------------------------------------
-- The value columns mirror the voucher's (same names and units); max_shares is how many people
-- this purchase may be shared to (0: not a gift card, or a claimed copy, which cannot be re-shared).

ALTER TABLE voucher_redemptions ADD COLUMN voucher_type INTEGER;
ALTER TABLE voucher_redemptions ADD COLUMN percentage_value INTEGER;
ALTER TABLE voucher_redemptions ADD COLUMN percentage_min_bill INTEGER;
ALTER TABLE voucher_redemptions ADD COLUMN flat_amount INTEGER;
ALTER TABLE voucher_redemptions ADD COLUMN flat_min_bill INTEGER;
ALTER TABLE voucher_redemptions ADD COLUMN product_name TEXT;
ALTER TABLE voucher_redemptions ADD COLUMN product_min_bill INTEGER;
ALTER TABLE voucher_redemptions ADD COLUMN terms_conditions TEXT;
ALTER TABLE voucher_redemptions ADD COLUMN max_shares INTEGER NOT NULL DEFAULT 0 CONSTRAINT redemption_max_shares CHECK (max_shares >= 0);

-- Rows sold before this migration get the voucher's terms as they are now: the best record there is.
UPDATE voucher_redemptions SET (voucher_type, percentage_value, percentage_min_bill, flat_amount, flat_min_bill, product_name,
                                product_min_bill, terms_conditions, max_shares) = (
  SELECT v.voucher_type, v.percentage_value, v.percentage_min_bill, v.flat_amount, v.flat_min_bill, v.product_name,
         v.product_min_bill, v.terms_conditions,
         CASE WHEN v.is_gift_card = 1 AND voucher_redemptions.is_gift_voucher = 0 THEN v.max_shares_per_purchase ELSE 0 END
    FROM vouchers v WHERE v.id = voucher_redemptions.voucher_id);

-- Every new row takes its terms at insert time, whichever code path wrote it: a claimed copy from
-- the purchase it was shared from (what the sharer bought), a purchase from the voucher.
CREATE TRIGGER voucher_redemptions_freeze_terms
AFTER INSERT ON voucher_redemptions
WHEN NEW.voucher_type IS NULL
BEGIN
  UPDATE voucher_redemptions SET (voucher_type, percentage_value, percentage_min_bill, flat_amount, flat_min_bill, product_name,
                                  product_min_bill, terms_conditions, max_shares) = (
    SELECT s.voucher_type, s.percentage_value, s.percentage_min_bill, s.flat_amount, s.flat_min_bill, s.product_name,
           s.product_min_bill, s.terms_conditions, 0
      FROM voucher_redemptions s WHERE s.id = NEW.source_redemption_id)
   WHERE id = NEW.id AND NEW.source_redemption_id IS NOT NULL;
  UPDATE voucher_redemptions SET (voucher_type, percentage_value, percentage_min_bill, flat_amount, flat_min_bill, product_name,
                                  product_min_bill, terms_conditions, max_shares) = (
    SELECT v.voucher_type, v.percentage_value, v.percentage_min_bill, v.flat_amount, v.flat_min_bill, v.product_name,
           v.product_min_bill, v.terms_conditions,
           CASE WHEN v.is_gift_card = 1 AND NEW.is_gift_voucher = 0 THEN v.max_shares_per_purchase ELSE 0 END
      FROM vouchers v WHERE v.id = NEW.voucher_id)
   WHERE id = NEW.id AND NEW.source_redemption_id IS NULL;
END;

-- Once set, a purchase's terms never change.
CREATE TRIGGER voucher_redemptions_terms_frozen
BEFORE UPDATE OF voucher_type, percentage_value, percentage_min_bill, flat_amount, flat_min_bill, product_name, product_min_bill,
                 terms_conditions, max_shares ON voucher_redemptions
WHEN OLD.voucher_type IS NOT NULL
BEGIN
  SELECT RAISE(ABORT, 'purchase_terms_frozen');
END;

-- Share cap -------------------------------------------------------------------------------------
-- Counted inside D1, so concurrent share requests for one purchase cannot pass the cap together.
CREATE TRIGGER gift_card_shares_cap
BEFORE INSERT ON gift_card_shares
WHEN (SELECT COUNT(*) FROM gift_card_shares WHERE source_redemption_id = NEW.source_redemption_id)
     >= COALESCE((SELECT max_shares FROM voucher_redemptions WHERE id = NEW.source_redemption_id), 0)
BEGIN
  SELECT RAISE(ABORT, 'gift_share_cap');
END;

-- Advertisements --------------------------------------------------------------------------------
-- The creation fee covers `advertisement_included_days`; each further day costs
-- `advertisement_extension_cost_per_day`; no ad runs more than `advertisement_max_days` days from
-- the later of its start and today. An end date that date arithmetic could not compute is NULL.
INSERT OR IGNORE INTO site_settings (key, value, updated_at) VALUES
  ('advertisement_included_days', '30', '2026-01-01T00:00:00.000Z'),
  ('advertisement_max_days', '366', '2026-01-01T00:00:00.000Z');

CREATE TRIGGER advertisements_length_guard_insert
BEFORE INSERT ON advertisements
WHEN NEW.end_date IS NULL
  OR julianday(NEW.end_date) - julianday(max(NEW.start_date, date('now'))) + 1
     > COALESCE((SELECT CAST(value AS INTEGER) FROM site_settings WHERE key = 'advertisement_max_days'), 366)
BEGIN
  SELECT RAISE(ABORT, 'advertisement_too_long');
END;

CREATE TRIGGER advertisements_length_guard_update
BEFORE UPDATE OF end_date ON advertisements
WHEN NEW.end_date IS NULL
  OR (NEW.end_date > OLD.end_date
      AND julianday(NEW.end_date) - julianday(max(NEW.start_date, date('now'))) + 1
          > COALESCE((SELECT CAST(value AS INTEGER) FROM site_settings WHERE key = 'advertisement_max_days'), 366))
BEGIN
  SELECT RAISE(ABORT, 'advertisement_too_long');
END;
