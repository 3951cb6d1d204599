-- Voucher marketplace, second part: the cancel/refund state guard.
-- Cancel and refund are decided inside D1, in the same batch as the stock (and money) they return:
-- a purchase leaves 'purchased' for 'cancelled' or 'refunded' only while nothing of it was redeemed
-- and it has not expired, so concurrent cancel, refund and redeem cannot all win.
CREATE TRIGGER voucher_redemptions_cancel_guard
BEFORE UPDATE OF purchase_status ON voucher_redemptions
WHEN NEW.purchase_status IN ('cancelled', 'refunded')
  AND (OLD.purchase_status != 'purchased'
       OR OLD.remaining_redemptions != OLD.total_redemptions
       OR OLD.expiry_date <= COALESCE(NEW.status_changed_at, strftime('%Y-%m-%dT%H:%M:%fZ', 'now')))
BEGIN
  SELECT RAISE(ABORT, 'redemption_not_cancellable');
END;
