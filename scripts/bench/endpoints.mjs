// What the bench drives: each API endpoint with the floor it is compared with, and the floors
// themselves (routes of floor-worker.mjs). `next()` builds one request; requests rotate over the
// users' tokens, the scan references and the transactions. Every write sends a fresh
// Idempotency-Key, as clients should.
import { SCAN_PURCHASES, benchUser, scanReference } from "./data.mjs";

/** The floors: what each costs in D1 round trips is fixed by construction (see bench/README.md). */
export const FLOORS = {
  bare: { name: "bare route", d1: 0, does: "Hono route answering a small JSON body" },
  scan: { name: "jwt + one indexed join", d1: 1, does: "verify the JWT, one 4-table join on an indexed column" },
  // A reference, not a floor: the scan's floor plus the rate-limit call the scan is required to make (the probe of that name).
  scan_rate_limit: {
    name: "jwt + one indexed join + rate-limit call",
    d1: 1,
    does: "the scan's floor plus one call of the Workers rate-limit binding (in Miniflare a call into another worker and a Durable Object)",
  },
  offers: { name: "jwt + one page read", d1: 1, does: "verify the JWT, one SELECT of the active offers (41 rows)" },
  categories: { name: "one read", d1: 1, does: "one SELECT of the active categories" },
  vouchers: { name: "one batch (count + page)", d1: 1, does: "one batch of a COUNT and a 20-row page of a 2-table join" },
  status: { name: "jwt + one key read", d1: 1, does: "verify the JWT, one primary-key SELECT" },
  status_redis: { name: "jwt + one Redis HGETALL", d1: 0, does: "verify the JWT, one HGETALL over the Upstash REST protocol" },
  money: { name: "jwt + one batch via a DO", d1: 1, does: "verify the JWT, one Durable Object call running a 2-statement batch (debit + ledger row)" },
  // A reference, not a floor: the money floor plus the rows every purchase must write.
  money_purchase_rows: {
    name: "jwt + one batch via a DO + the purchase's rows",
    d1: 1,
    does: "the money floor's batch plus the purchase's four rows in the API's own tables (transaction, stock, purchase row, Idempotency-Key claim with its answer), without their guards",
  },
  batch: { name: "jwt + one 2-statement batch", d1: 1, does: "verify the JWT, one 2-statement batch straight to D1" },
  notify: { name: "jwt + one insert + queue send", d1: 1, consumed: true, does: "verify the JWT, one INSERT, one queue message" },
  // A reference, not a floor: the notification floor plus the rows every send must write.
  notify_send_rows: {
    name: "jwt + one insert + queue send + the send's rows",
    d1: 1,
    consumed: true,
    does: "the notification floor with its insert in one batch with the send's other rows in the API's own tables (Idempotency-Key claim with its answer, the sender's and the recipient's counts), without their guards",
  },
  activate: {
    name: "jwt + DO batch + Redis + queue, consumed",
    d1: 1,
    consumed: true,
    does:
      "verify the JWT, one Durable Object call running a 3-statement batch (debit, ledger row, PENDING row), then an HSET + EXPIRE pipeline and a queue message side by side; its consumer, in the same workerd, one UPDATE completing the row and one HSET",
  },
};

export function buildPlan(ctx) {
  const { tokens, merchantToken, statusPairs, offerId, voucherId, runId } = ctx;
  let n = 0;
  const auth = (token) => ({ authorization: `Bearer ${token}`, "content-type": "application/json" });
  const write = (token) => ({ ...auth(token), "idempotency-key": `bench-${runId}-${n++}` });
  const userToken = () => tokens[n++ % tokens.length];
  const status = (prefix) => () => {
    const pair = statusPairs[n++ % statusPairs.length];
    return { method: "GET", path: `${prefix}${pair.transactionId}`, headers: auth(pair.token) };
  };
  const scanBody = () => JSON.stringify({ qr_data: scanReference(n++ % SCAN_PURCHASES) });
  const notifyBody = JSON.stringify({ title: "Bench", message: "A benchmark notification", recipient_type: "email", recipient: "bench@example.com" });
  // A plain user may message only their own address: bench_user_<i>'s token sends to bench_user_<i>'s email.
  const ownNotification = () => {
    const i = n++ % tokens.length;
    return { method: "POST", path: "/api/v1/notifications/send/", headers: write(tokens[i]), body: JSON.stringify({ title: "Bench", message: "A benchmark notification", recipient_type: "email", recipient: `${benchUser(i)}@bench.perks.local` }) };
  };
  const get = (path, headers) => () => ({ method: "GET", path, headers });

  const floors = {
    bare: get("/floor/bare"),
    scan: () => ({ method: "POST", path: "/floor/scan", headers: auth(merchantToken), body: scanBody() }),
    offers: () => ({ method: "GET", path: "/floor/offers", headers: auth(userToken()) }),
    categories: get("/floor/categories"),
    vouchers: get("/floor/vouchers?search=coffee"),
    status: status("/floor/status/"),
    status_redis: status("/floor/status-redis/"),
    money: () => ({ method: "POST", path: "/floor/money", headers: auth(userToken()), body: "{}" }),
    money_purchase_rows: () => ({ method: "POST", path: "/floor/money-purchase-rows", headers: auth(userToken()), body: JSON.stringify({ voucher_id: voucherId }) }),
    batch: () => ({ method: "POST", path: "/floor/batch", headers: auth(userToken()), body: "{}" }),
    notify: () => ({ method: "POST", path: "/floor/notify", headers: auth(userToken()), body: notifyBody }),
    notify_send_rows: () => ({ method: "POST", path: "/floor/notify-send-rows", headers: auth(userToken()), body: notifyBody }),
    activate: () => ({ method: "POST", path: "/floor/activate", headers: auth(userToken()), body: JSON.stringify({ offer_id: offerId }) }),
    scan_rate_limit: () => ({ method: "POST", path: "/probe/rate-limit", headers: auth(merchantToken), body: scanBody() }),
  };

  // `phase`: "warm" runs with Redis and the read cache on; "cold" after a restart with neither.
  // `reference`: a second measurement next to the floor, for work the endpoint must do that its floor leaves out.
  const endpoints = [
    { key: "health_live", name: "health live", floor: "bare", phase: "warm", next: get("/api/v1/health/live") },
    {
      key: "merchant_scan",
      name: "merchant scan",
      floor: "scan",
      reference: "scan_rate_limit",
      phase: "warm",
      next: () => ({ method: "POST", path: "/api/v1/merchant/scan/scan/", headers: auth(merchantToken), body: scanBody() }),
    },
    { key: "offers_list_warm", name: "offers list (warm)", floor: "offers", phase: "warm", next: () => ({ method: "GET", path: "/api/v1/offers/", headers: auth(userToken()) }) },
    { key: "categories_warm", name: "categories (warm)", floor: "categories", phase: "warm", next: get("/api/v1/categories/") },
    { key: "public_browse_warm", name: "public browse (warm)", floor: "vouchers", phase: "warm", next: get("/api/v1/public-vouchers/") },
    { key: "voucher_search_warm", name: "voucher search (warm)", floor: "vouchers", phase: "warm", next: get("/api/v1/public-vouchers/?search=coffee") },
    { key: "activation_status_redis", name: "activation status (Redis hit)", floor: "status_redis", phase: "warm", next: status("/api/v1/activation/status/") },
    {
      key: "activation",
      name: "activation",
      floor: "activate",
      phase: "warm",
      next: () => ({ method: "POST", path: "/api/v1/activation/", headers: write(userToken()), body: JSON.stringify({ offer_id: offerId }) }),
    },
    {
      key: "voucher_purchase",
      name: "voucher purchase",
      floor: "money",
      reference: "money_purchase_rows",
      phase: "warm",
      next: () => ({ method: "POST", path: "/api/v1/voucher-purchase/purchase/", headers: write(userToken()), body: JSON.stringify({ voucher_id: voucherId }) }),
    },
    {
      key: "redeem",
      name: "merchant redeem",
      floor: "batch",
      phase: "warm",
      next: () => ({
        method: "POST",
        path: "/api/v1/merchant/scan/redeem/",
        headers: write(merchantToken),
        body: JSON.stringify({ redemption_id: ctx.scanRedemptionIds[n++ % ctx.scanRedemptionIds.length], quantity: 1, location: "Till 1" }),
      }),
    },
    { key: "notification_send", name: "notification send", floor: "notify", reference: "notify_send_rows", phase: "warm", next: ownNotification },
    { key: "activation_status_d1", name: "activation status (D1)", floor: "status", phase: "cold", next: status("/api/v1/activation/status/") },
    { key: "offers_list_cold", name: "offers list (cold)", floor: "offers", phase: "cold", next: () => ({ method: "GET", path: "/api/v1/offers/", headers: auth(userToken()) }) },
    { key: "categories_cold", name: "categories (cold)", floor: "categories", phase: "cold", next: get("/api/v1/categories/") },
    { key: "public_browse_cold", name: "public browse (cold)", floor: "vouchers", phase: "cold", next: get("/api/v1/public-vouchers/") },
    { key: "voucher_search_cold", name: "voucher search (cold)", floor: "vouchers", phase: "cold", next: get("/api/v1/public-vouchers/?search=coffee") },
  ];

  const probes = [
    "jose-raw-secret",
    "zod",
    "rate-limit",
    "session",
    "redis-write",
    "queue-send",
    "idempotency-claim-and-completion",
    "log-line",
  ].map((probe) => ({
    key: probe,
    next: () => ({ method: "POST", path: `/probe/${probe}`, headers: { ...auth(merchantToken), "idempotency-key": `probe-${runId}-${n++}` }, body: scanBody() }),
  }));

  return { floors, endpoints, probes };
}
