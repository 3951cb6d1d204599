// Creates the first admin (there are no hard-coded users), or promotes an existing user and
// resets their password:
//
//   npm run admin:create -- --username U --password P [--email E] [--remote]
//
// The password may come from the PERKS_ADMIN_PASSWORD environment variable instead of
// --password, which keeps it out of shell history and `ps`.
import { parseArgs } from "node:util";
import { hashPassword } from "./lib/password.mjs";
import { sql } from "./lib/sql.mjs";
import { runWrangler } from "./lib/wrangler.mjs";

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

const target = values.remote ? "--remote" : "--local";
const where = values.remote ? "REMOTE database" : "local database";
const now = new Date().toISOString();

async function d1(command, { json = false } = {}) {
  const args = ["d1", "execute", "DB", target, "--command", command, "--yes"];
  if (json) args.push("--json");
  const { code, stdout, stderr } = await runWrangler(args, { capture: true, env: { CI: "true" } });
  if (code !== 0) {
    process.stderr.write(stdout + stderr);
    console.error(`admin:create: wrangler d1 execute failed against the ${where}`);
    process.exit(code || 1);
  }
  return json ? JSON.parse(stdout) : stdout;
}

const lookup = sql`SELECT id, role, is_active FROM users WHERE username = ${username} COLLATE NOCASE;`;
const before = (await d1(lookup, { json: true }))[0]?.results?.[0] ?? null;

const upsert = [
  sql`INSERT INTO users (username, email, role, password_hash, is_active, created_at, updated_at)
VALUES (${username}, ${email}, 'admin', ${hashPassword(password)}, 1, ${now}, ${now})
ON CONFLICT (username COLLATE NOCASE) DO UPDATE SET
  role = 'admin',
  password_hash = excluded.password_hash,
  email = COALESCE(excluded.email, users.email),
  is_active = 1,
  updated_at = excluded.updated_at;`,
  sql`INSERT OR IGNORE INTO wallets (user_id, balance, updated_at)
SELECT id, 0, ${now} FROM users WHERE username = ${username} COLLATE NOCASE;`,
].join("\n");
await d1(upsert);

const after = (await d1(lookup, { json: true }))[0]?.results?.[0];
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
