// Demo data for the LOCAL database: `node scripts/seed.mjs` (run by `npm run dev`), written into
// the same local D1 file `wrangler dev` reads (through wrangler's getPlatformProxy, scripts/lib/d1.mjs).
//
// Idempotent: every statement is INSERT OR IGNORE / ON CONFLICT, keyed on natural keys
// (usernames, idempotency keys), so running it twice changes nothing.
//
// To add demo data, append a section to `sections` below: a name and a function that gets
// `ctx` and returns statements built with the `sql` tag (drizzle's): every `${value}` is a bound
// parameter, and a `${sql`...`}` fragment (a subquery) is embedded with its own parameters.
// Refer to rows by natural key (e.g. `userId("alice")`), never by a guessed id. Passwords are
// hashed by the worker's own module (src/lib/password.ts), so the worker verifies them.
//
// Flags: --print (the statements and their parameters to stdout, nothing written). --remote is refused.
import { fileURLToPath } from "node:url";
import { openD1, runAll, sql, toStatement } from "./lib/d1.mjs";
import { ensureProjectNode } from "./lib/wrangler.mjs";

export const DEMO_PASSWORD = "demo-password-123";
export const DEMO_USERS = [
  { username: "admin", role: "admin", first_name: "Ada", last_name: "Admin", balance: 0 },
  { username: "merchant", role: "merchant", first_name: "Mia", last_name: "Merchant", balance: 50_000 },
  { username: "alice", role: "user", first_name: "Alice", last_name: "Demo", balance: 100_000 },
  { username: "bob", role: "user", first_name: "Bob", last_name: "Demo", balance: 100_000 },
];

const userId = (username) => sql`(SELECT id FROM users WHERE username = ${username})`;

/**
 * Credits a wallet once (keyed on idempotency_key) and keeps balance = sum(ledger), the
 * conservation invariant, even if the wallet row existed before.
 */
export function creditOnce({ username, amount, idempotencyKey, note, kind = "credit", now }) {
  return [
    sql`INSERT OR IGNORE INTO wallets (user_id, balance, updated_at)
  SELECT id, 0, ${now} FROM users WHERE username = ${username};`,
    sql`INSERT OR IGNORE INTO ledger_entries (user_id, amount, balance_after, kind, transaction_id, idempotency_key, note, created_at)
  SELECT u.id, ${amount}, COALESCE((SELECT SUM(l.amount) FROM ledger_entries l WHERE l.user_id = u.id), 0) + ${amount},
    ${kind}, NULL, ${idempotencyKey}, ${note}, ${now}
  FROM users u WHERE u.username = ${username};`,
    sql`UPDATE wallets SET
    balance = (SELECT COALESCE(SUM(l.amount), 0) FROM ledger_entries l WHERE l.user_id = wallets.user_id),
    updated_at = ${now}
  WHERE user_id = ${userId(username)}
    AND balance <> (SELECT COALESCE(SUM(l.amount), 0) FROM ledger_entries l WHERE l.user_id = wallets.user_id);`,
  ];
}

/** @type {{ name: string, build: (ctx: { now: string, passwordHash: (username: string) => string }) => import("drizzle-orm").SQL[] }[]} */
export const sections = [
  {
    name: "users",
    build: ({ now, passwordHash }) =>
      DEMO_USERS.map(
        (u) => sql`INSERT OR IGNORE INTO users (username, email, first_name, last_name, role, password_hash, is_active, created_at, updated_at)
  VALUES (${u.username}, ${`${u.username}@demo.perks.local`}, ${u.first_name}, ${u.last_name}, ${u.role}, ${passwordHash(u.username)}, 1, ${now}, ${now});`,
      ),
  },
  {
    name: "wallets",
    build: ({ now }) =>
      DEMO_USERS.flatMap((u) =>
        u.balance > 0
          ? creditOnce({ username: u.username, amount: u.balance, idempotencyKey: `seed:${u.username}`, note: "Demo data", now })
          : [sql`INSERT OR IGNORE INTO wallets (user_id, balance, updated_at) SELECT id, 0, ${now} FROM users WHERE username = ${u.username};`],
      ),
  },
  {
    // Voucher marketplace: the `merchant` user's business, categories, and vouchers of each type
    // (one a gift card). Vouchers are keyed by fixed uuids so a second run inserts nothing.
    name: "vouchers",
    build: ({ now }) => {
      const merchantId = sql`(SELECT id FROM merchants WHERE user_id = ${userId("merchant")})`;
      const categoryId = (name) => sql`(SELECT id FROM categories WHERE name = ${name})`;
      const vouchers = [
        { uuid: "5eed0000-0000-4000-8000-000000000001", title: "50% Off Coffee", message: "Get 50% off on any coffee", category: "Food & Beverage", type: 1, percentage_value: 5000, percentage_min_bill: 10000, count: 100, gift: 0 },
        { uuid: "5eed0000-0000-4000-8000-000000000002", title: "₹50 Off Breakfast", message: "Flat ₹50 off any breakfast over ₹200", category: "Food & Beverage", type: 2, flat_amount: 5000, flat_min_bill: 20000, count: null, gift: 0 },
        { uuid: "5eed0000-0000-4000-8000-000000000003", title: "Free Coffee Gift Card", message: "Enjoy a free coffee on us!", category: "Gifts", type: 3, product_name: "Coffee", product_min_bill: 0, count: 50, gift: 1 },
        { uuid: "5eed0000-0000-4000-8000-000000000004", title: "20% Off Haircut", message: "Fresh look, smaller bill", category: "Wellness", type: 1, percentage_value: 2000, percentage_min_bill: 0, count: 5, gift: 0 },
      ];
      return [
        sql`INSERT OR IGNORE INTO merchants (user_id, business_name, category, phone, address, city, state, is_active, created_at, updated_at)
  VALUES (${userId("merchant")}, 'Coffee Shop', 'Food & Beverage', '+919876543210', '12 MG Road', 'Mumbai', 'Maharashtra', 1, ${now}, ${now});`,
        ...["Food & Beverage", "Gifts", "Wellness"].map(
          (name) => sql`INSERT OR IGNORE INTO categories (name, description, is_active, created_at) VALUES (${name}, '', 1, ${now});`,
        ),
        ...vouchers.map(
          (v) => sql`INSERT OR IGNORE INTO vouchers (uuid, merchant_id, category_id, title, message, terms_conditions, voucher_type,
    percentage_value, percentage_min_bill, flat_amount, flat_min_bill, product_name, product_min_bill, count, sold_count,
    redemptions_per_purchase, validity_days, is_gift_card, is_active, is_featured, created_at, updated_at)
  VALUES (${v.uuid}, ${merchantId}, ${categoryId(v.category)}, ${v.title}, ${v.message}, 'Demo voucher', ${v.type},
    ${v.percentage_value ?? null}, ${v.percentage_min_bill ?? null}, ${v.flat_amount ?? null}, ${v.flat_min_bill ?? null},
    ${v.product_name ?? null}, ${v.product_min_bill ?? null}, ${v.count}, 0, 1, 365, ${v.gift}, 1, ${v.type === 1 ? 1 : 0}, ${now}, ${now});`,
        ),
      ];
    },
  },
  {
    // Offers API: a few offers (prices in minor units). "Sandbox Failing Offer" has
    // sandbox_outcome 'fail', so activating it without PARTNER_API_URL shows the refusal and
    // refund path. Offers have no natural key column; the name is used as one here.
    name: "offers",
    build: ({ now }) =>
      [
        { name: "Streaming Monthly", description: "30 days of premium streaming", price: 2000, duration_days: 30, partner: "streamco", outcome: "succeed" },
        { name: "Mobile Data 10GB", description: "10 GB of mobile data for a week", price: 999, duration_days: 7, partner: "telco", outcome: "succeed" },
        { name: "Music Annual", description: "A year of ad-free music", price: 15000, duration_days: 365, partner: "tunes", outcome: "succeed" },
        { name: "Sandbox Failing Offer", description: "The sandbox partner refuses this one: the activation fails and is refunded", price: 500, duration_days: 30, partner: "sandbox", outcome: "fail" },
      ].map(
        (o) => sql`INSERT INTO offers (name, description, price, duration_days, is_active, partner, sandbox_outcome, created_at, updated_at)
  SELECT ${o.name}, ${o.description}, ${o.price}, ${o.duration_days}, 1, ${o.partner}, ${o.outcome}, ${now}, ${now}
  WHERE NOT EXISTS (SELECT 1 FROM offers WHERE name = ${o.name});`,
      ),
  },
  {
    // Notification system: a customer record for alice (her profile email, a Telegram chat and
    // a WhatsApp number, default preferences) and one pending order. Natural keys: the
    // (owner, email) unique index and order_number. Notifications are not seeded: placing or
    // moving an order in `wrangler dev` shows them being queued and sent through the sandbox.
    name: "customers-orders",
    build: ({ now }) => [
      sql`INSERT OR IGNORE INTO customers (owner_user_id, name, email, phone, telegram_chat_id, address, city, country, postal_code, created_at, updated_at)
  SELECT id, 'Alice Demo', email, '+919876543210', '123456789', '12 MG Road', 'Mumbai', 'India', '400001', ${now}, ${now}
  FROM users WHERE username = 'alice';`,
      sql`INSERT OR IGNORE INTO orders (order_number, user_id, customer_id, status, total_amount, currency, shipping_address, shipping_method, tracking_number, notes, created_at, updated_at)
  SELECT 'ORD-DEMO-ALICE-1', u.id, c.id, 'pending', 14999, 'INR', '12 MG Road, Mumbai 400001', 'standard', 'TRK-DEMOALICE1', 'Demo order', ${now}, ${now}
  FROM users u JOIN customers c ON c.owner_user_id = u.id AND c.email = u.email WHERE u.username = 'alice';`,
      sql`INSERT INTO order_status_history (order_id, from_status, to_status, changed_by, created_at)
  SELECT o.id, NULL, 'pending', o.user_id, ${now} FROM orders o
  WHERE o.order_number = 'ORD-DEMO-ALICE-1' AND NOT EXISTS (SELECT 1 FROM order_status_history h WHERE h.order_id = o.id);`,
    ],
  },
];

/** The worker's own password hashing (imported when needed: the module is TypeScript). */
export async function workerPasswordModule() {
  // By URL, so the Node-side typecheck (which reads this file) does not take the worker's module in.
  return import(new URL("../src/lib/password.ts", import.meta.url).href);
}

/** Every statement of every section, in order; each demo user's password hashed with its own salt. */
export async function buildSeedStatements({ now = new Date().toISOString(), hash } = {}) {
  hash ??= (await workerPasswordModule()).hashPassword;
  const hashes = new Map();
  for (const u of DEMO_USERS) hashes.set(u.username, await hash(DEMO_PASSWORD));
  const passwordHash = (username) => {
    const value = hashes.get(username);
    if (!value) throw new Error(`no demo password for ${username}`);
    return value;
  };
  return sections.flatMap((section) => section.build({ now, passwordHash }));
}

/** Loads the demo data into `db` (a D1 binding) as one batch. */
export async function seedDatabase(db, options) {
  await runAll(db, await buildSeedStatements(options), { name: "demo data" });
}

async function main(argv) {
  if (argv.includes("--remote") || argv.includes("--preview")) {
    console.error("seed: refusing to touch a remote database. Demo data is for the local database only.");
    process.exit(2);
  }
  await ensureProjectNode();
  if (argv.includes("--print")) {
    for (const statement of await buildSeedStatements()) process.stdout.write(`${JSON.stringify(toStatement(statement))}\n`);
    return;
  }
  const { db, dispose } = await openD1();
  try {
    await seedDatabase(db);
  } catch (err) {
    throw new Error(`${err?.message ?? err} (did \`wrangler d1 migrations apply DB --local\` run?)`);
  } finally {
    await dispose();
  }
  console.log(`seed: ${sections.length} sections of demo data loaded into the local D1 database`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main(process.argv.slice(2)).catch((err) => {
    console.error(`seed: ${err?.message ?? err}`);
    process.exit(1);
  });
}
