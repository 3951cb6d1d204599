// The floor: a bare Hono + jose worker, run in the same workerd as the API with the same D1
// database, doing per endpoint only the platform work that endpoint cannot avoid: verify the JWT,
// then the same D1 round trips against tables of the same shape (an indexed join, a page query,
// one batch through a Durable Object for money, one serialised object for the hot wallet), and
// for a write whose messages are consumed in the same workerd, the least its consumer must do.
// Bundled by scripts/bench/floor.mjs. `/probe/*` routes add one cost at a time to the scan's
// floor, to see where the API's time goes (`npm run bench -- --probes`).
import { DurableObject } from "cloudflare:workers";
import { Hono } from "hono";
import { jwtVerify } from "jose";
import { z } from "zod";

const encoder = new TextEncoder();
let hmacKey;
/** The secret is imported once per isolate; importing it per request is avoidable work. */
const key = (env) =>
  (hmacKey ??= crypto.subtle.importKey("raw", encoder.encode(env.JWT_SECRET), { name: "HMAC", hash: "SHA-256" }, false, ["verify"]));

async function verify(c, { rawSecret = false } = {}) {
  const token = (c.req.header("authorization") ?? "").replace(/^Bearer\s+/i, "");
  const secret = rawSecret ? encoder.encode(c.env.JWT_SECRET) : await key(c.env);
  const { payload } = await jwtVerify(token, secret, {
    algorithms: ["HS256"],
    issuer: c.env.JWT_ISSUER,
    audience: c.env.JWT_AUDIENCE,
    requiredClaims: ["exp", "sub"],
  });
  return payload;
}

const SCAN_JOIN = `SELECT r.id, r.purchase_reference, r.purchase_status, r.remaining_redemptions, r.expiry_date, r.is_gift_voucher,
       v.title, v.voucher_type, v.product_name, u.first_name, u.last_name, u.phone, m.business_name, m.is_active
  FROM voucher_redemptions r JOIN vouchers v ON v.id = r.voucher_id JOIN users u ON u.id = r.user_id JOIN merchants m ON m.id = r.merchant_id
 WHERE r.purchase_reference = ?`;

const scanRead = (db, reference) => db.prepare(SCAN_JOIN).bind(reference).first();

/**
 * Two statements, one batch: the conditional debit and its ledger row (the money write's shape).
 * `activation`: a third, the PENDING row an activation's consumer later completes.
 */
function moneyBatch(db, userId, amount, note, activation, purchase) {
  const now = new Date().toISOString();
  const statements = [
    db.prepare("UPDATE floor_wallets SET balance = balance - ?, updated_at = ? WHERE user_id = ?").bind(amount, now, userId),
    db
      .prepare(
        "INSERT INTO floor_ledger (user_id, amount, balance_after, kind, note, created_at) SELECT ?, ?, balance, 'debit', ?, ? FROM floor_wallets WHERE user_id = ? RETURNING id, balance_after",
      )
      .bind(userId, -amount, note, now, userId),
  ];
  if (purchase) statements.push(...purchaseRows(db, userId, amount, purchase.voucherId, now));
  if (activation)
    statements.push(
      db.prepare("INSERT INTO floor_activations (id, user_id, amount, status, created_at, updated_at) VALUES (?, ?, ?, 'PENDING', ?, ?)").bind(activation.id, userId, amount, now, now),
    );
  return db.batch(statements);
}

/**
 * A reference, not a floor: the rows a voucher purchase must write besides the money, in the API's
 * own tables with the API's statements minus their guards (its transaction, the voucher's stock,
 * the purchase row with its indexes, foreign keys and terms trigger, the Idempotency-Key claim with
 * its answer), so the reference pays D1 what those rows cost and none of the API's own work.
 */
function purchaseRows(db, userId, amount, voucherId, now) {
  const transactionId = crypto.randomUUID();
  const reference = `FLR-${crypto.randomUUID()}`;
  return [
    db
      .prepare("INSERT INTO transactions (id, user_id, type, status, amount, offer_id, reference, description, created_at, updated_at) VALUES (?, ?, 'VOUCHER_PURCHASE', 'SUCCESS', ?, NULL, ?, 'floor', ?, ?)")
      .bind(transactionId, userId, amount, reference, now, now),
    db.prepare("UPDATE vouchers SET sold_count = sold_count + 1, updated_at = ? WHERE id = ?").bind(now, voucherId),
    db
      .prepare(
        `INSERT INTO voucher_redemptions (uuid, voucher_id, merchant_id, user_id, purchase_reference, purchase_status, is_gift_voucher,
                purchase_cost, transaction_id, total_redemptions, remaining_redemptions, purchased_at, expiry_date, updated_at)
         VALUES (?, ?, (SELECT merchant_id FROM vouchers WHERE id = ?), ?, ?, 'purchased', 0, ?, ?, 1, 1, ?, ?, ?) RETURNING id`,
      )
      .bind(crypto.randomUUID(), voucherId, voucherId, userId, reference, amount, transactionId, now, now, now),
    db
      .prepare("INSERT INTO idempotency_keys (scope, request_hash, state, claimed_at, claim_token, response_status, response_body) VALUES (?, 'floor', 'done', ?, ?, 201, ?)")
      .bind(`floor:${userId}:${reference}`, now, transactionId, JSON.stringify({ purchase_reference: reference, transaction_id: transactionId })),
  ];
}

/** One per wallet, serialised by its own promise chain like the API's wallet object. */
export class FloorWallet extends DurableObject {
  tail = Promise.resolve();
  apply(userId, amount, activation, purchase) {
    const run = this.tail.then(async () => {
      try {
        const results = await moneyBatch(this.env.DB, userId, amount, "floor", activation, purchase);
        return { ok: true, balance: results[1].results[0].balance_after };
      } catch (error) {
        if (String(error?.message ?? error).includes("CHECK constraint failed")) return { ok: false };
        throw error;
      }
    });
    this.tail = run.catch(() => undefined);
    return run;
  }
}

const walletOf = (env, name) => env.FLOOR_WALLET.get(env.FLOOR_WALLET.idFromName(name));

async function money(c, name, withPurchaseRows = false) {
  const claims = await verify(c);
  const body = await c.req.json();
  const purchase = withPurchaseRows ? { voucherId: Number(body.voucher_id) } : undefined;
  const result = await walletOf(c.env, name ?? `wallet:${claims.sub}`).apply(Number(claims.sub), 1000, undefined, purchase);
  return result.ok ? c.json(result, 201) : c.json({ error: "Insufficient balance", code: "INSUFFICIENT_BALANCE" }, 400);
}

async function redisCommand(env, path, body) {
  const response = await fetch(`${env.UPSTASH_REDIS_REST_URL}${path}`, {
    method: "POST",
    headers: { authorization: `Bearer ${env.UPSTASH_REDIS_REST_TOKEN}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  return response.json();
}

const app = new Hono();

app.get("/floor/bare", (c) => c.json({ status: "ok" }));

// One indexed join (merchant scan).
app.post("/floor/scan", async (c) => {
  await verify(c);
  const { qr_data } = await c.req.json();
  return c.json(await scanRead(c.env.DB, qr_data));
});

// One read of a page of rows (the offers catalogue, signed in).
app.get("/floor/offers", async (c) => {
  await verify(c);
  const { results } = await c.env.DB.prepare("SELECT * FROM offers WHERE is_active = 1 ORDER BY id LIMIT 500").all();
  return c.json(results);
});

// One read, public (the categories list).
app.get("/floor/categories", async (c) => {
  const { results } = await c.env.DB.prepare("SELECT * FROM categories WHERE is_active = 1 ORDER BY name").all();
  return c.json({ count: results.length, results });
});

// One batch of a count and a page (public voucher search and browse).
app.get("/floor/vouchers", async (c) => {
  const like = `%${c.req.query("search") ?? ""}%`;
  const where = "FROM vouchers v JOIN merchants m ON m.id = v.merchant_id WHERE v.is_active = 1 AND m.is_active = 1 AND v.title LIKE ?";
  const [count, page] = await c.env.DB.batch([
    c.env.DB.prepare(`SELECT COUNT(*) AS n ${where}`).bind(like),
    c.env.DB.prepare(`SELECT v.*, m.business_name ${where} ORDER BY v.id DESC LIMIT 20`).bind(like),
  ]);
  return c.json({ count: count.results[0].n, results: page.results });
});

// One primary-key read of the caller's row (activation status from D1).
app.get("/floor/status/:id", async (c) => {
  const claims = await verify(c);
  const row = await c.env.DB.prepare("SELECT id, user_id, status, amount, offer_id, created_at, updated_at FROM transactions WHERE id = ? AND user_id = ?")
    .bind(c.req.param("id"), Number(claims.sub))
    .first();
  return row ? c.json(row) : c.json({ error: "Not found" }, 404);
});

// One HGETALL over the Upstash REST protocol (activation status from Redis).
app.get("/floor/status-redis/:id", async (c) => {
  await verify(c);
  const { result } = await redisCommand(c.env, "/", ["HGETALL", `transaction:${c.req.param("id")}`]);
  return result?.length ? c.json(result) : c.json({ error: "Not found" }, 404);
});

// One batch of two statements through the caller's Durable Object (purchase, activation).
app.post("/floor/money", (c) => money(c));
// A reference for the purchase: the same batch with the purchase's own rows as well (purchaseRows).
app.post("/floor/money-purchase-rows", (c) => money(c, undefined, true));
// The same, every request to one object (the hot wallet), and its reference with the purchase's rows.
app.post("/floor/hot", (c) => money(c, "hot"));
app.post("/floor/hot-purchase-rows", (c) => money(c, "hot", true));

/**
 * What an activation cannot avoid before its 202: the wallet object's batch (debit, ledger row,
 * the PENDING row), then side by side the status hash in Redis (it must be there once the client
 * has its answer) and the queue message. `queue` below does the consumer's part.
 */
app.post("/floor/activate", async (c) => {
  const claims = await verify(c);
  await c.req.json();
  const id = crypto.randomUUID();
  const result = await walletOf(c.env, `wallet:${claims.sub}`).apply(Number(claims.sub), 100, { id });
  if (!result.ok) return c.json({ error: "Insufficient balance", code: "INSUFFICIENT_BALANCE" }, 400);
  const now = new Date().toISOString();
  await Promise.all([
    redisCommand(c.env, "/pipeline", [
      ["HSET", `floor-transaction:${id}`, "status", "PENDING", "amount", "1.00", "user_id", claims.sub, "created_at", now, "updated_at", now],
      ["EXPIRE", `floor-transaction:${id}`, "30"],
    ]),
    c.env.FLOOR_QUEUE.send({ activation: id }),
  ]);
  return c.json({ transaction_id: id, status: "PENDING" }, 202);
});

// One batch of two statements straight to D1 (redeem: the guarded update and its event row).
app.post("/floor/batch", async (c) => {
  const claims = await verify(c);
  await c.req.json();
  const results = await moneyBatch(c.env.DB, Number(claims.sub), 0, "floor batch");
  return c.json(results[1].results[0]);
});

/**
 * One insert and one queue message (notification send); `queue` below delivers it. `withSendRows`
 * (a reference, not a floor): the insert goes in one batch with the other rows every send writes,
 * in the API's own tables without their guards: the Idempotency-Key claim with its answer, the
 * sender's hourly count and the recipient's daily count.
 */
async function notifyFloor(c, { withSendRows = false } = {}) {
  const claims = await verify(c);
  const body = await c.req.json();
  const db = c.env.DB;
  const now = new Date().toISOString();
  const insert = db.prepare("INSERT INTO floor_notifications (user_id, title, message, created_at) VALUES (?, ?, ?, ?) RETURNING id").bind(Number(claims.sub), body.title, body.message, now);
  let row;
  if (withSendRows) {
    const count = (key) =>
      db
        .prepare("INSERT INTO rate_counters (key, count, window_started_at) VALUES (?, 1, ?) ON CONFLICT (key) DO UPDATE SET count = count + 1")
        .bind(key, now);
    const claim = db
      .prepare("INSERT INTO idempotency_keys (scope, request_hash, state, claimed_at, claim_token, response_status, response_body) VALUES (?, 'floor', 'done', ?, ?, 201, ?)")
      .bind(`floor:${claims.sub}:${crypto.randomUUID()}`, now, crypto.randomUUID(), JSON.stringify({ title: body.title, status: "queued" }));
    const results = await db.batch([claim, insert, count(`floor:sender:${claims.sub}`), count(`floor:recipient:${body.recipient}`)]);
    row = results[1].results[0];
  } else row = await insert.first();
  await c.env.FLOOR_QUEUE.send({ id: row.id });
  return c.json(row, 201);
}
app.post("/floor/notify", (c) => notifyFloor(c));
app.post("/floor/notify-send-rows", (c) => notifyFloor(c, { withSendRows: true }));

// Probes: the scan's floor plus one cost each.
const ScanBody = z.strictObject({ qr_data: z.string().trim().min(1).max(2048) });
const probes = {
  "jose-raw-secret": async (c) => {
    await verify(c, { rawSecret: true });
    return (await c.req.json()).qr_data;
  },
  zod: async (c) => {
    await verify(c);
    return ScanBody.parse(await c.req.json()).qr_data;
  },
  "rate-limit": async (c) => {
    const claims = await verify(c);
    await c.env.PROBE_LIMITER.limit({ key: `scan:${claims.sub}` });
    return (await c.req.json()).qr_data;
  },
  session: async (c) => {
    await verify(c);
    c.set("db", c.env.DB.withSession("first-unconstrained"));
    return (await c.req.json()).qr_data;
  },
  "redis-write": async (c) => {
    const claims = await verify(c);
    await redisCommand(c.env, "/pipeline", [
      ["HSET", `probe:${claims.sub}`, "status", "PENDING", "amount", "1.00"],
      ["EXPIRE", `probe:${claims.sub}`, "60"],
    ]);
    return (await c.req.json()).qr_data;
  },
  "queue-send": async (c) => {
    const claims = await verify(c);
    await c.env.FLOOR_QUEUE.send({ probe: claims.sub });
    return (await c.req.json()).qr_data;
  },
  // The API's request log line: one JSON line with its fields, one console.log (as src/lib/log.ts writes it).
  "log-line": async (c) => {
    const claims = await verify(c);
    const started = Date.now();
    const reference = (await c.req.json()).qr_data;
    c.set("after", async () =>
      console.log(
        JSON.stringify({
          level: "info",
          msg: "request",
          request_id: crypto.randomUUID(),
          method: c.req.method,
          route: "/probe/log-line",
          status: 200,
          duration_ms: Date.now() - started,
          user_id: Number(claims.sub),
        }),
      ),
    );
    return reference;
  },
  "idempotency-claim-and-completion": async (c) => {
    const claims = await verify(c);
    const scope = `${claims.sub}:${c.req.header("idempotency-key") ?? crypto.randomUUID()}`;
    await c.env.DB.prepare("INSERT INTO floor_idem (scope, request_hash, state) VALUES (?, ?, 'in_progress') ON CONFLICT (scope) DO NOTHING")
      .bind(scope, "h")
      .run();
    c.set("after", () =>
      c.env.DB.prepare("UPDATE floor_idem SET state = 'done', response_status = 200, response_body = ? WHERE scope = ?").bind("{}", scope).run(),
    );
    return (await c.req.json()).qr_data;
  },
};
for (const [name, before] of Object.entries(probes))
  app.post(`/probe/${name}`, async (c) => {
    const reference = await before(c);
    const row = await scanRead(c.get("db") ?? c.env.DB, reference);
    await c.get("after")?.();
    return c.json(row);
  });

/**
 * The activation floor's consumer: the partner's answer, one UPDATE completing the row, one
 * update of its status hash. The partner is called over HTTP only when the API is given a
 * partner URL too (`PARTNER_API_URL`, the same value): without one, as in the bench, the API's
 * sandbox partner answers in-process, and a floor making a call the API does not would flatter it.
 */
async function completeActivation(env, id) {
  if (env.PARTNER_API_URL) {
    const response = await fetch(env.PARTNER_API_URL, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ transaction_id: id }) });
    await response.arrayBuffer();
  }
  const now = new Date().toISOString();
  await env.DB.prepare("UPDATE floor_activations SET status = 'SUCCESS', updated_at = ? WHERE id = ? AND status = 'PENDING'").bind(now, id).run();
  await redisCommand(env, "/", ["HSET", `floor-transaction:${id}`, "status", "SUCCESS", "updated_at", now]);
}

/**
 * The floor's consumer, in the same workerd as the requests, as the API's own consumers deliver
 * the API's messages while they are timed: a notification is delivered with the least a delivery
 * must write (one UPDATE marking its row sent); an activation is completed (above). Probe
 * messages are only acked.
 */
async function queue(batch, env) {
  for (const message of batch.messages) {
    if (message.body?.id !== undefined)
      await env.DB.prepare("UPDATE floor_notifications SET status = 'sent', sent_at = ? WHERE id = ?").bind(new Date().toISOString(), message.body.id).run();
    else if (message.body?.activation !== undefined) await completeActivation(env, message.body.activation);
    message.ack();
  }
}

export default { fetch: app.fetch, queue };
