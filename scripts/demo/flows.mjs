// The demo's flows, in the order a newcomer meets them. Each flow takes the shared context
// ({ call, step, section, s }) where `s` carries what later steps build on (tokens, ids).
import { DemoError, assert, need, poll } from "./client.mjs";

export const DEMO_PASSWORD = "demo-password-123";
const today = (days = 0) => new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 10);
const money = (text) => Math.round(Number(text) * 100);
const list = (body) => (Array.isArray(body) ? body : (body?.results ?? []));

/** Anyone sees the overall status; an admin's token (or an API key) also sees the components. */
export async function health({ call, step, s }, label = "health") {
  await step(`${label}: GET /api/v1/health/ (anonymous: the status only)`, async () => {
    const { body } = await call("GET", "/api/v1/health/");
    assert(body.status === "ok" || body.status === "degraded", `unexpected status ${body.status}`, { body });
    assert(body.components === undefined && body.environment === undefined, "component detail shown to an anonymous caller", { body });
    return body.status;
  });
  if (!s?.admin) return;
  await step(`${label}: GET /api/v1/health/ as admin (the components)`, async () => {
    const { body } = await call("GET", "/api/v1/health/", { token: s.admin.token });
    assert(body.components, "no components for the admin", { body });
    const parts = Object.entries(body.components).map(([name, c]) => `${name} ${c.status}`);
    return `${body.status} (${parts.join(", ")})`;
  });
}

export async function auth({ call, step, section, s }) {
  section("Auth (register, token, check, profile, refresh, logout)");
  const username = `demo_${s.run}`;
  await step(`register ${username}`, async () => {
    const { status, body } = await call("POST", "/api/v1/auth/register/", {
      body: { username, password: DEMO_PASSWORD, email: `${username}@demo.perks.local`, first_name: "Dee", last_name: "Mo" },
      expect: 201,
    });
    return `${status}, user id ${body.user?.id ?? body.id}`;
  });
  await step("POST /auth/token/ (the notification spec's login)", async () => {
    const { body } = await call("POST", "/api/v1/auth/token/", { body: { username, password: DEMO_PASSWORD } });
    assert(body.token && body.refresh, "no token in the answer", { body });
    s.newUser = { username, token: body.token, refresh: body.refresh };
    return `access token for ${username}, expires in ${body.access_expires_in} s`;
  });
  await step("GET /auth/token/check/", async () => {
    need([s.newUser], "no token");
    const { body } = await call("GET", "/api/v1/auth/token/check/", { token: s.newUser.token });
    return `valid ${body.valid}, user ${body.user?.username}`;
  });
  await step("GET /auth/profile/", async () => {
    need([s.newUser], "no token");
    const { body } = await call("GET", "/api/v1/auth/profile/", { token: s.newUser.token });
    s.newUser.id = body.id;
    return `${body.username}, role ${body.role}`;
  });
  await step("POST /auth/refresh/ (rotates the refresh token)", async () => {
    need([s.newUser], "no token");
    const { body } = await call("POST", "/api/v1/auth/refresh/", { body: { refresh: s.newUser.refresh } });
    assert(body.refresh !== s.newUser.refresh, "the refresh token did not rotate", { body });
    s.newUser.token = body.access;
    s.newUser.refresh = body.refresh;
    return "new access and refresh tokens";
  });
  await step("POST /auth/logout/, then the old refresh token is refused", async () => {
    need([s.newUser], "no token");
    await call("POST", "/api/v1/auth/logout/", { body: { refresh: s.newUser.refresh } });
    const { status } = await call("POST", "/api/v1/auth/refresh/", { body: { refresh: s.newUser.refresh }, expect: 401 });
    return `refresh after logout: ${status}`;
  });
  await step("log in the demo users (admin, merchant, alice, bob)", async () => {
    for (const name of ["admin", "merchant", "alice", "bob"]) {
      const { body } = await call("POST", "/api/v1/auth/login/", { body: { username: name, password: DEMO_PASSWORD } });
      const { body: profile } = await call("GET", "/api/v1/auth/profile/", { token: body.access });
      s[name] = { token: body.access, id: profile.id, email: profile.email };
    }
    return "4 sessions";
  });
}

async function balanceOf(call, token) {
  const { body } = await call("GET", "/api/v1/account/", { token });
  return body.balance;
}

/** Keeps a demo wallet able to pay for a run, through the admin credit endpoint (ledger entry and all). */
export async function topUp({ call, step, s }, who, minimum) {
  await step(`admin tops up ${who}'s wallet when below ${minimum}`, async () => {
    need([s.admin, s[who]], "not logged in");
    const balance = await balanceOf(call, s[who].token);
    if (money(balance) >= money(minimum)) return `balance ${balance}, enough`;
    const { body } = await call("POST", `/api/v1/admin/wallets/${s[who].id}/credit`, {
      token: s.admin.token,
      headers: { "Idempotency-Key": `demo-topup-${who}-${s.run}` },
      body: { amount: minimum, reason: "Demo top-up" },
    });
    return `credited ${body.amount}, balance ${body.balance}`;
  });
}

async function activate(call, token, offerId) {
  const { status, body } = await call("POST", "/api/v1/activation/", { token, body: { offer_id: offerId }, headers: { "Idempotency-Key": crypto.randomUUID() } });
  assert(status === 202 && body.transaction_id, "no transaction id", { status, body });
  return body.transaction_id;
}

async function settled(call, token, transactionId) {
  const r = await poll(
    () => call("GET", `/api/v1/activation/status/${transactionId}/`, { token }),
    (r) => r.body.status !== "PENDING",
    { what: `activation ${transactionId} to leave PENDING (the queue consumer)` },
  );
  return r.body;
}

export async function offers(ctx) {
  const { call, step, section, s } = ctx;
  section("Offers, account and activation");
  await topUp(ctx, "alice", "200.00");
  let catalogue = [];
  await step("GET /offers/", async () => {
    need([s.alice], "alice is not logged in");
    catalogue = list((await call("GET", "/api/v1/offers/", { token: s.alice.token })).body);
    assert(catalogue.length > 0, "no offers (did `npm run dev` seed the database?)", { body: catalogue });
    return `${catalogue.length} offers`;
  });
  const good = catalogue.find((o) => o.name === "Streaming Monthly") ?? catalogue[0];
  const failing = catalogue.find((o) => o.name === "Sandbox Failing Offer");
  await step("GET /offers/{id}/", async () => {
    need([good], "no offer");
    const { body } = await call("GET", `/api/v1/offers/${good.id}/`, { token: s.alice.token });
    return `${body.name}, price ${body.price}`;
  });
  await step("GET /account/", async () => {
    need([s.alice], "alice is not logged in");
    const { body } = await call("GET", "/api/v1/account/", { token: s.alice.token });
    return `balance ${body.balance}, ${body.active_subscriptions?.length ?? 0} active subscriptions`;
  });
  let transactionId;
  await step(`POST /activation/ (${good?.name ?? "an offer"}) then poll the status to SUCCESS`, async () => {
    need([good, s.alice], "no offer");
    const before = await balanceOf(call, s.alice.token);
    transactionId = await activate(call, s.alice.token, good.id);
    const final = await settled(call, s.alice.token, transactionId);
    assert(final.status === "SUCCESS", `activation ended ${final.status}`, { body: final });
    return `PENDING -> SUCCESS, balance ${before} -> ${await balanceOf(call, s.alice.token)}`;
  });
  await step("GET /account/transactions/ and /account/transactions/{id}/", async () => {
    need([transactionId], "no activation");
    const { body: page } = await call("GET", "/api/v1/account/transactions/", { token: s.alice.token });
    const { body } = await call("GET", `/api/v1/account/transactions/${transactionId}/`, { token: s.alice.token });
    return `${page.count ?? list(page).length} transactions; this one ${body.type} ${body.status} ${body.amount}`;
  });
  await step("an offer the sandbox partner refuses: FAILED and refunded", async () => {
    need([failing, s.alice], "no offer named 'Sandbox Failing Offer' (seed data)");
    const before = await balanceOf(call, s.alice.token);
    const id = await activate(call, s.alice.token, failing.id);
    const final = await settled(call, s.alice.token, id);
    assert(final.status === "FAILED", `activation ended ${final.status}`, { body: final });
    const after = await balanceOf(call, s.alice.token);
    assert(after === before, `balance ${before} before, ${after} after: not refunded`, { body: final });
    return `PENDING -> FAILED, balance back to ${after}`;
  });
}

export async function vouchers(ctx) {
  const { call, step, section, s } = ctx;
  section("Vouchers: discovery, purchase, user vouchers, QR");
  let found = [];
  await step("GET /public-vouchers/?search=coffee", async () => {
    const { body } = await call("GET", "/api/v1/public-vouchers/?search=coffee");
    found = list(body);
    return `${body.count ?? found.length} vouchers match`;
  });
  await step("GET /public-vouchers/featured/ and /trending/", async () => {
    const featured = list((await call("GET", "/api/v1/public-vouchers/featured/")).body);
    const trending = list((await call("GET", "/api/v1/public-vouchers/trending/")).body);
    return `${featured.length} featured, ${trending.length} trending`;
  });
  await step("POST /voucher-purchase/purchase/ (bob buys a voucher with points)", async () => {
    need([s.bob], "bob is not logged in");
    const all = list((await call("GET", "/api/v1/public-vouchers/?page_size=50")).body);
    const voucher = all.find((v) => v.title === "₹50 Off Breakfast") ?? all.find((v) => !v.is_gift_card);
    need([voucher], "no voucher on sale");
    const { body } = await call("POST", "/api/v1/voucher-purchase/purchase/", {
      token: s.bob.token,
      headers: { "Idempotency-Key": `demo-purchase-${s.run}` },
      body: { voucher_id: voucher.id },
    });
    s.bobPurchase = body;
    return `${body.voucher_title}: ${body.purchase_reference}, cost ${body.purchase_cost}, balance ${body.remaining_balance}`;
  });
  await step("GET /user-vouchers/", async () => {
    need([s.bobPurchase], "no purchase");
    const { body } = await call("GET", "/api/v1/user-vouchers/", { token: s.bob.token });
    return `${body.count ?? list(body).length} vouchers for bob`;
  });
  await step("GET /user-vouchers/{id}/qr-code/", async () => {
    need([s.bobPurchase], "no purchase");
    const { body } = await call("GET", `/api/v1/user-vouchers/${s.bobPurchase.redemption_id}/qr-code/`, { token: s.bob.token });
    return `QR for ${body.purchase_reference ?? s.bobPurchase.purchase_reference}`;
  });
}

export async function giftCards(ctx) {
  const { call, step, section, s } = ctx;
  section("Gift card: create, purchase, share, claim, scan, redeem");
  await topUp(ctx, "merchant", "100.00");
  await step("merchant creates a gift-card voucher (POST /vouchers/)", async () => {
    need([s.merchant], "merchant is not logged in");
    const { body } = await call("POST", "/api/v1/vouchers/", {
      token: s.merchant.token,
      body: { title: `Free Coffee Gift Card ${s.run}`, message: "Enjoy a free coffee on us!", voucher_type: 3, product_name: "Coffee", is_gift_card: true, is_active: true, count: 10 },
      expect: 201,
    });
    s.giftVoucher = body;
    return `voucher ${body.id}, ${body.voucher_type_name ?? body.voucher_type}`;
  });
  await step("alice purchases the gift card", async () => {
    need([s.giftVoucher, s.alice], "no gift-card voucher");
    const { body } = await call("POST", "/api/v1/voucher-purchase/purchase/", { token: s.alice.token, body: { voucher_id: s.giftVoucher.id } });
    s.giftPurchase = body;
    return `${body.purchase_reference}, balance ${body.remaining_balance}`;
  });
  // The claim reference is a bearer secret: whoever receives it may claim it once. Each claimed copy
  // takes a unit of the voucher's stock (10 here), and one purchase is shared to at most its cap.
  const phone = `+1555${String(Date.now() % 10_000_000).padStart(7, "0")}`;
  await step(`alice shares it to ${phone} (POST /vouchers/{id}/share-gift-card/)`, async () => {
    need([s.giftPurchase], "no gift-card purchase");
    const { body } = await call("POST", `/api/v1/vouchers/${s.giftPurchase.redemption_id}/share-gift-card/`, {
      token: s.alice.token,
      body: { phone_numbers: [phone] },
    });
    s.claimReference = body.shares_created?.[0]?.claim_reference;
    assert(s.claimReference, "no claim reference in the answer", { body });
    return `claim reference ${s.claimReference}, ${body.shares_remaining} of ${body.max_shares} shares left`;
  });
  await step(`${s.newUser?.username ?? "the new user"} claims it (POST /gift-card-claim/claim/)`, async () => {
    need([s.claimReference], "nothing shared");
    const token = await freshToken(ctx);
    const { body } = await call("POST", "/api/v1/gift-card-claim/claim/", { token, body: { claim_reference: s.claimReference } });
    s.claimed = body.gift_card_details;
    s.claimerToken = token;
    return `${body.gift_card_details.title}: ${body.gift_card_details.purchase_reference}`;
  });
  await step("GET /gift-card-claim/my-gift-cards/ and /shared-by-me/", async () => {
    need([s.claimed], "nothing claimed");
    const mine = (await call("GET", "/api/v1/gift-card-claim/my-gift-cards/", { token: s.claimerToken })).body;
    const shared = (await call("GET", "/api/v1/gift-card-claim/shared-by-me/", { token: s.alice.token })).body;
    return `claimer holds ${mine.total_count ?? list(mine.gift_cards ?? mine).length}, alice shared ${shared.total_count ?? list(shared.shares ?? shared).length}`;
  });
  await step("merchant scans the claimed card (POST /merchant/scan/scan/)", async () => {
    need([s.claimed], "nothing claimed");
    const { body } = await call("POST", "/api/v1/merchant/scan/scan/", { token: s.merchant.token, body: { qr_data: s.claimed.purchase_reference } });
    assert(body.can_redeem, `cannot redeem: ${body.reason}`, { body });
    s.scanned = body.voucher_details;
    return `can_redeem ${body.can_redeem}, ${body.voucher_details.remaining_redemptions} left`;
  });
  await step("merchant redeems it (POST /merchant/scan/redeem/)", async () => {
    need([s.scanned], "nothing scanned");
    const { body } = await call("POST", "/api/v1/merchant/scan/redeem/", {
      token: s.merchant.token,
      body: { redemption_id: s.scanned.redemption_id, location: "Main Store", notes: "Demo redemption", quantity: 1 },
    });
    return `redeemed ${body.quantity_redeemed}, ${body.remaining_redemptions} left`;
  });
}

/** The registered user logged out in the auth flow; a new session for the claim. */
async function freshToken({ call, s }) {
  need([s.newUser], "no registered user");
  const { body } = await call("POST", "/api/v1/auth/login/", { body: { username: s.newUser.username, password: DEMO_PASSWORD } });
  return body.access;
}

export async function advertisements({ call, step, section, s }) {
  section("Advertisement");
  await step("merchant advertises the gift card in Mumbai (POST /advertisements/)", async () => {
    need([s.giftVoucher], "no voucher to advertise");
    const { body } = await call("POST", "/api/v1/advertisements/", {
      token: s.merchant.token,
      body: { voucher: s.giftVoucher.id, start_date: today(), end_date: today(7), city: "Mumbai", state: "Maharashtra" },
    });
    return `advertisement ${body.advertisement_id}, cost ${body.cost_deducted}`;
  });
  await step("GET /advertisements/by-location/?city=Mumbai&state=Maharashtra", async () => {
    const { body } = await call("GET", "/api/v1/advertisements/by-location/?city=Mumbai&state=Maharashtra");
    return `${body.total_count ?? list(body.advertisements ?? body).length} ads in ${body.location ?? "Mumbai"}`;
  });
}

async function notificationsOf(call, token) {
  return list((await call("GET", "/api/v1/notifications/?page_size=100", { token })).body);
}

/** The first notice with this title that left the queue (sent, or skipped by the customer's preferences). */
async function delivered(call, token, title) {
  const final = (n) => n.title === title && (n.status === "sent" || n.status === "skipped" || n.status === "failed");
  const items = await poll(() => notificationsOf(call, token), (all) => all.some(final), { what: `the notification "${title}" to be delivered` });
  return items.find(final);
}

export async function customersOrders({ call, step, section, s }) {
  section("Customers, orders and their notifications");
  await step("POST /customers/ then GET /customers/{id}/", async () => {
    need([s.alice], "alice is not logged in");
    const { body } = await call("POST", "/api/v1/customers/", {
      token: s.alice.token,
      body: { name: `Demo Customer ${s.run}`, email: `customer-${s.run}@demo.perks.local`, phone: "+14155550123", city: "Mumbai", country: "India" },
      expect: 201,
    });
    const { body: again } = await call("GET", `/api/v1/customers/${body.id}/`, { token: s.alice.token });
    s.customer = again;
    return `customer ${again.id}, ${again.name}`;
  });
  await step("PATCH and GET /customers/{id}/preferences/", async () => {
    need([s.customer], "no customer");
    await call("PATCH", `/api/v1/customers/${s.customer.id}/preferences/`, { token: s.alice.token, body: { promotional: false } });
    const { body } = await call("GET", `/api/v1/customers/${s.customer.id}/preferences/`, { token: s.alice.token });
    return `email ${body.email_enabled}, telegram ${body.telegram_enabled}, promotional ${body.promotional}`;
  });
  await step("POST /orders/ and its 'received' notification is delivered", async () => {
    need([s.alice], "alice is not logged in");
    const { body } = await call("POST", "/api/v1/orders/", {
      token: s.alice.token,
      body: { order_number: `ORD-DEMO-${s.run}`, total_amount: "149.99", shipping_address: "12 MG Road, Mumbai 400001", shipping_method: "standard" },
      expect: 201,
    });
    s.order = body;
    const notice = await delivered(call, s.alice.token, `Order ${body.order_number} received`);
    return `${body.order_number} ${body.status}; notice ${notice.channel} ${notice.status}`;
  });
  await step("admin confirms it (PUT /orders/{id}/status/) and the customer is notified", async () => {
    need([s.order, s.admin], "no order");
    const { body } = await call("PUT", `/api/v1/orders/${s.order.id}/status/`, { token: s.admin.token, body: { status: "confirmed" } });
    const notice = await delivered(call, s.alice.token, `Order ${s.order.order_number} is confirmed`);
    return `${body.status}; notice ${notice.channel} ${notice.status}`;
  });
  await step("GET /orders/ and /orders/{id}/", async () => {
    need([s.order], "no order");
    const { body: page } = await call("GET", "/api/v1/orders/", { token: s.alice.token });
    const { body } = await call("GET", `/api/v1/orders/${s.order.id}/`, { token: s.alice.token });
    return `${page.count ?? list(page).length} orders; ${body.order_number} is ${body.status}`;
  });
}

export async function notifications({ call, step, section, s }) {
  section("Notifications: send, bulk, history, stats");
  await step("POST /notifications/send/ to alice's own email, and it is delivered", async () => {
    need([s.alice], "alice is not logged in");
    const title = `Demo notification ${s.run}`;
    // A plain user may message only their own contacts; anyone else needs an admin or a scoped API key.
    const { body } = await call("POST", "/api/v1/notifications/send/", {
      token: s.alice.token,
      body: { title, message: "This is a test notification!", recipient_type: "email", recipient: s.alice.email, priority: "high" },
    });
    const done = await poll(
      () => call("GET", `/api/v1/notifications/${body.id}/`, { token: s.alice.token }),
      (r) => r.body.status !== "pending" && r.body.status !== "queued",
      { what: `notification ${body.id} to be delivered` },
    );
    assert(done.body.status === "sent", `ended ${done.body.status}: ${done.body.last_error}`, done);
    return `${body.id} ${body.status} -> ${done.body.status}`;
  });
  await step("POST /notifications/bulk/ (email, Telegram, WhatsApp) with an API key scoped notifications:send", async () => {
    need([s.alice, s.admin], "not logged in");
    const { body: key } = await call("POST", "/api/v1/admin/api-keys/", {
      token: s.admin.token,
      body: { name: `demo bulk ${s.run}`, scopes: ["notifications:send"] },
    });
    assert(key.key, "no API key created", key);
    const { body } = await call("POST", "/api/v1/notifications/bulk/", {
      token: s.alice.token,
      headers: { "x-api-key": key.key },
      body: {
        notifications: [
          { title: "Bulk 1", message: "Over email", recipient_type: "email", recipient: "bulk@example.com" },
          { title: "Bulk 2", message: "Over Telegram", recipient_type: "telegram", recipient: "123456789" },
          { title: "Bulk 3", message: "Over WhatsApp", recipient_type: "whatsapp", recipient: "+14155550123" },
        ],
      },
    });
    await call("DELETE", `/api/v1/admin/api-keys/${key.id}/`, { token: s.admin.token });
    // Each item is answered as it was written: `skipped` once a demo recipient has had the day's messages (repeated runs).
    assert(body.failed === 0 && body.queued + body.pending + body.skipped === 3, `${body.failed} of 3 refused`, { body });
    const held = body.skipped > 0 ? `, ${body.skipped} skipped (the recipient's daily cap)` : "";
    return `${body.queued}/${body.total} queued${held} (the key is revoked afterwards)`;
  });
  await step("GET /notifications/ (history)", async () => {
    need([s.alice], "alice is not logged in");
    const { body } = await call("GET", "/api/v1/notifications/", { token: s.alice.token });
    return `${body.count ?? list(body).length} notifications for alice`;
  });
  await step("GET /notifications/stats/", async () => {
    need([s.alice], "alice is not logged in");
    const { body } = await call("GET", "/api/v1/notifications/stats/", { token: s.alice.token });
    return `total ${body.total}, sent ${body.by_status?.sent}, success rate ${body.success_rate}%`;
  });
}

export async function healthAgain({ call, step, section, s }) {
  section("Health");
  await health({ call, step, s }, "health again");
  await step("GET /health/redis/ and /health/celery/ (the spec's paths) as admin", async () => {
    need([s.admin], "admin is not logged in");
    const redis = (await call("GET", "/health/redis/", { token: s.admin.token })).body;
    const queues = (await call("GET", "/health/celery/", { token: s.admin.token })).body;
    assert(queues.backlog, "no backlog for the admin", { queues });
    return `redis ${redis.status}, queues ${queues.status} (stuck activations ${queues.backlog.stuck_activations}, notifications ${queues.backlog.stuck_notifications})`;
  });
}

export { DemoError };
