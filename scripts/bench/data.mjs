// Bench-only data on top of the demo seed: many funded users, a merchant with an unlimited
// voucher and purchases to scan, a catalogue to search, an offer, and one "hot" wallet.
import { sql } from "../lib/d1.mjs";
import { workerPasswordModule } from "../seed.mjs";

export const BENCH_PASSWORD = "bench-password-123";
export const BENCH_USERS = 32;
/** Enough for every activation and purchase a run makes; wallets never run dry mid-measurement. */
export const BENCH_FUNDS = 1_000_000_000;
export const SCAN_PURCHASES = 200;
export const CATALOGUE_VOUCHERS = 300;
export const BENCH_OFFER = "Bench Offer";
export const BENCH_VOUCHER_UUID = "bec40000-0000-4000-8000-000000000001";
export const HOT_USER = "bench_hot";
export const HOT_ATTEMPTS = 500;
/** The hot wallet can pay for this many of the 500 purchases; the rest must be refused. */
export const HOT_AFFORDABLE = 350;

export const benchUser = (i) => `bench_user_${i}`;
export const scanReference = (i) => `VCH-BENCH${String(i).padStart(4, "0")}`;

const userId = (username) => sql`(SELECT id FROM users WHERE username = ${username})`;
const WORDS = ["Coffee", "Pizza", "Haircut", "Yoga", "Books", "Burger", "Spa", "Cinema", "Sneakers", "Sushi"];

function user(username, role, hash, now) {
  return sql`INSERT INTO users (username, email, first_name, last_name, role, password_hash, is_active, created_at, updated_at)
  VALUES (${username}, ${`${username}@bench.perks.local`}, 'Bench', ${username}, ${role}, ${hash}, 1, ${now}, ${now});`;
}

function funds(username, amount, now) {
  return [
    sql`INSERT INTO wallets (user_id, balance, updated_at) VALUES (${userId(username)}, ${amount}, ${now});`,
    sql`INSERT INTO ledger_entries (user_id, amount, balance_after, kind, idempotency_key, note, created_at)
  VALUES (${userId(username)}, ${amount}, ${amount}, 'credit', ${`bench-funds:${username}`}, 'Bench funds', ${now});`,
  ];
}

/** `voucherCost`: the voucher_cost site setting, which the hot wallet's funds are sized by. */
/** The statements (drizzle `sql` fragments, values bound) for one D1 batch. */
export async function benchDataStatements({ voucherCost, now = new Date().toISOString() }) {
  // One hash for every bench user: PBKDF2 is deliberately slow, and these share a password anyway.
  const hash = await (await workerPasswordModule()).hashPassword(BENCH_PASSWORD);
  const out = [];
  for (let i = 0; i < BENCH_USERS; i++) out.push(user(benchUser(i), "user", hash, now), ...funds(benchUser(i), BENCH_FUNDS, now));
  out.push(user(HOT_USER, "user", hash, now), ...funds(HOT_USER, HOT_AFFORDABLE * voucherCost, now));

  out.push(
    user("bench_merchant", "merchant", hash, now),
    sql`INSERT INTO wallets (user_id, balance, updated_at) VALUES (${userId("bench_merchant")}, 0, ${now});`,
    sql`INSERT INTO merchants (user_id, business_name, category, city, state, is_active, created_at, updated_at)
  VALUES (${userId("bench_merchant")}, 'Bench Bistro', 'Food & Beverage', 'Mumbai', 'Maharashtra', 1, ${now}, ${now});`,
  );
  const merchantId = sql`(SELECT id FROM merchants WHERE user_id = ${userId("bench_merchant")})`;
  // The purchase voucher: unlimited stock, and enough redemptions per purchase that scans stay redeemable.
  out.push(sql`INSERT INTO vouchers (uuid, merchant_id, title, message, voucher_type, product_name, product_min_bill, count, sold_count,
    redemptions_per_purchase, validity_days, is_gift_card, is_active, is_featured, created_at, updated_at)
  VALUES (${BENCH_VOUCHER_UUID}, ${merchantId}, 'Bench Coffee', 'A coffee for the benchmark', 3, 'Coffee', 0, NULL, ${SCAN_PURCHASES},
    1000, 365, 0, 1, 0, ${now}, ${now});`);
  for (let i = 0; i < CATALOGUE_VOUCHERS; i++) {
    const word = WORDS[i % WORDS.length];
    out.push(sql`INSERT INTO vouchers (uuid, merchant_id, title, message, voucher_type, percentage_value, percentage_min_bill, count, sold_count,
    redemptions_per_purchase, validity_days, is_gift_card, is_active, is_featured, created_at, updated_at)
  VALUES (${`bec40000-0000-4000-8000-1${String(i).padStart(11, "0")}`}, ${merchantId}, ${`${word} deal ${i}`}, ${`Save on ${word.toLowerCase()}`},
    1, ${1000 + (i % 5) * 500}, 0, NULL, 0, 1, 365, 0, 1, ${i % 10 === 0 ? 1 : 0}, ${now}, ${now});`);
  }
  const voucherId = sql`(SELECT id FROM vouchers WHERE uuid = ${BENCH_VOUCHER_UUID})`;
  for (let i = 0; i < SCAN_PURCHASES; i++) {
    out.push(sql`INSERT INTO voucher_redemptions (uuid, voucher_id, merchant_id, user_id, purchase_reference, purchase_status, is_gift_voucher,
    purchase_cost, total_redemptions, remaining_redemptions, purchased_at, expiry_date, updated_at)
  VALUES (${`bec40000-0000-4000-8000-2${String(i).padStart(11, "0")}`}, ${voucherId}, ${merchantId}, ${userId(benchUser(i % BENCH_USERS))},
    ${scanReference(i)}, 'purchased', 0, 0, 1000, 1000, ${now}, '2099-01-01T00:00:00.000Z', ${now});`);
  }
  out.push(sql`INSERT INTO offers (name, description, price, duration_days, is_active, partner, sandbox_outcome, created_at, updated_at)
  VALUES (${BENCH_OFFER}, 'Activated by the benchmark', 100, 30, 1, 'sandbox', 'succeed', ${now}, ${now});`);
  for (let i = 0; i < 40; i++)
    out.push(sql`INSERT INTO offers (name, description, price, duration_days, is_active, partner, sandbox_outcome, created_at, updated_at)
  VALUES (${`Catalogue offer ${i}`}, 'Fills the offers list', ${500 + i * 10}, 30, 1, 'sandbox', 'succeed', ${now}, ${now});`);
  return out;
}
