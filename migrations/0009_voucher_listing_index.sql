-- The public voucher listing (browse and search) pages in this order. With the index SQLite
-- reads the listed vouchers in page order and stops once the page is full, instead of reading
-- every active voucher and sorting them for each page. Only these columns are indexed, so a
-- purchase (which changes sold_count) does not write to it.
CREATE INDEX vouchers_listing_idx ON vouchers (is_active, is_featured DESC, created_at DESC, id DESC);
