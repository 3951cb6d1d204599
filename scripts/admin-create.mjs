// Creates the first admin (there are no hard-coded users), or promotes an existing user and
// resets their password:
//
//   npm run admin:create -- --username U --password P [--email E] [--remote]
//
// The password may come from the PERKS_ADMIN_PASSWORD environment variable instead of
// --password, which keeps it out of shell history and `ps`.
//
// The statements bind every value (scripts/lib/d1.mjs) and the password is hashed by the worker's
// own module (src/lib/password.ts). --remote reaches the deployed database through wrangler's
// remote bindings (run `wrangler login` first); the default is the local database of `npm run dev`.
import { parseArgs } from "node:util";
import { openD1, prepare, runAll, sql } from "./lib/d1.mjs";
import { ensureProjectNode } from "./lib/wrangler.mjs";

await ensureProjectNode();

const USAGE = "Usage: npm run admin:create -- --username U --password P [--email E] [--remote]";

function fail(message) {
  console.error(`admin:create: ${message}`);
  console.error(USAGE);
  process.exit(2);
}

let values;
try {
  ({ values } = parseArgs({
    options: {
      username: { type: "string" },
      password: { type: "string" },
      email: { type: "string" },
      remote: { type: "boolean", default: false },
      local: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  }));
} catch (err) {
  fail(err.message);
}
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}
if (values.remote && values.local) fail("choose one of --local and --remote");

const username = (values.username ?? "").trim();
const password = values.password ?? process.env.PERKS_ADMIN_PASSWORD ?? "";
const email = values.email?.trim() || null;

if (!/^[A-Za-z0-9_.@+-]{3,150}$/.test(username)) {
  fail("--username must be 3-150 characters: letters, digits and _ . @ + -");
}
if (password.length < 10) fail("--password must be at least 10 characters");
if (password.length > 1024) fail("--password is too long");
if (email !== null && !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email)) fail("--email is not a valid address");

const where = values.remote ? "REMOTE database" : "local database";
const now = new Date().toISOString();
const { hashPassword } = await import("../src/lib/password.ts");
const passwordHash = await hashPassword(password);

let d1;
try {
  d1 = await openD1({ remote: values.remote });
} catch (err) {
  console.error(`admin:create: could not open the ${where}: ${err?.message ?? err}`);
  process.exit(1);
}

const lookup = () => prepare(d1.db, sql`SELECT id, role, is_active FROM users WHERE username = ${username} COLLATE NOCASE`).first();

let before;
let after;
try {
  before = await lookup();
  await runAll(
    d1.db,
    [
      sql`INSERT INTO users (username, email, role, password_hash, is_active, created_at, updated_at)
VALUES (${username}, ${email}, 'admin', ${passwordHash}, 1, ${now}, ${now})
ON CONFLICT (username COLLATE NOCASE) DO UPDATE SET
  role = 'admin',
  password_hash = excluded.password_hash,
  email = COALESCE(excluded.email, users.email),
  is_active = 1,
  updated_at = excluded.updated_at`,
      sql`INSERT OR IGNORE INTO wallets (user_id, balance, updated_at)
SELECT id, 0, ${now} FROM users WHERE username = ${username} COLLATE NOCASE`,
    ],
    { name: "the admin" },
  );
  after = await lookup();
} catch (err) {
  console.error(`admin:create: writing to the ${where} failed: ${err?.message ?? err}`);
  if (!values.remote) console.error("admin:create: (did `npx wrangler d1 migrations apply DB --local` or `npm run dev` run?)");
  await d1.dispose();
  process.exit(1);
}
await d1.dispose();

if (!after || after.role !== "admin") {
  console.error(`admin:create: the user '${username}' is not an admin after the update; check the ${where}`);
  process.exit(1);
}
if (before) {
  const changes = [
    before.role === "admin" ? "already an admin" : `role ${before.role} -> admin`,
    "password reset",
    before.is_active ? null : "reactivated",
    email ? `email set to ${email}` : null,
  ].filter(Boolean);
  console.log(`admin:create: updated existing user '${username}' (id ${after.id}) in the ${where}: ${changes.join(", ")}.`);
} else {
  console.log(`admin:create: created admin '${username}' (id ${after.id}) in the ${where}${email ? ` with email ${email}` : ""}, with an empty wallet.`);
}
