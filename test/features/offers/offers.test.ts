import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { api, isCleanError } from "../../helpers/api";
import { createUser, unique, walletState } from "../../helpers/factories";
import { makeOffer } from "../../helpers/offer-factories";

const OFFER_FIELDS = ["created_at", "description", "duration_days", "id", "is_active", "name", "partner", "price", "updated_at"];
const SUBSCRIPTION_FIELDS = ["created_at", "ends_at", "id", "offer_id", "offer_name", "reference", "starts_at", "status", "transaction_id", "updated_at"];

/** An active subscription ending `endsInHours` from now, created directly. */
async function subscription(userId: number, offerId: number, endsInHours: number) {
  const now = new Date();
  const ends = new Date(now.getTime() + endsInHours * 3_600_000).toISOString();
  const row = await env.DB.prepare(
    "INSERT INTO subscriptions (user_id, offer_id, transaction_id, reference, status, starts_at, ends_at, created_at, updated_at) VALUES (?, ?, ?, ?, 'active', ?, ?, ?, ?) RETURNING id",
  )
    .bind(userId, offerId, crypto.randomUUID(), unique("SUB-T"), now.toISOString(), ends, now.toISOString(), now.toISOString())
    .first<{ id: number }>();
  return { id: row!.id, endsAt: ends };
}

describe("GET /api/v1/offers/ and /offers/{offer_id}/", () => {
  it("lists active offers with the spec's fields and prices as '20.00'", async () => {
    const user = await createUser();
    const active = await makeOffer({ price: 2000 });
    const inactive = await makeOffer({ isActive: false });
    const res = await api("GET", "/api/v1/offers/", { token: user.token });
    expect(res.status).toBe(200);
    const mine = res.body.find((o: any) => o.id === active.id);
    expect(Object.keys(mine).sort()).toEqual(OFFER_FIELDS);
    expect(mine).toMatchObject({ price: "20.00", duration_days: 30, is_active: true, partner: "acme" });
    expect(res.body.some((o: any) => o.id === inactive.id)).toBe(false);

    const detail = await api("GET", `/api/v1/offers/${active.id}/`, { token: user.token });
    expect(detail.body).toEqual(mine);
    expect((await api("GET", `/api/v1/offers/${inactive.id}`, { token: user.token })).status).toBe(404);
  });

  it("requires a token", async () => {
    expect((await api("GET", "/api/v1/offers/")).status).toBe(401);
  });
});

describe("admin offer management", () => {
  it("admins create, update and deactivate offers; others get 403", async () => {
    const admin = await createUser({ role: "admin" });
    const user = await createUser();
    const body = { name: "Streaming 30", description: "A month", price: "12.50", duration_days: 30, partner: "streamco", sandbox_outcome: "fail" };
    expect((await api("POST", "/api/v1/offers/", { token: user.token, body })).status).toBe(403);

    const created = await api("POST", "/api/v1/offers/", { token: admin.token, body });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: "Streaming 30", price: "12.50", duration_days: 30, is_active: true, partner: "streamco", sandbox_outcome: "fail" });
    const id = created.body.id;

    const patched = await api("PATCH", `/api/v1/offers/${id}/`, { token: admin.token, body: { price: 15, sandbox_outcome: "succeed" } });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ price: "15.00", sandbox_outcome: "succeed" });
    expect((await api("PATCH", `/api/v1/offers/${id}/`, { token: user.token, body: { price: 1 } })).status).toBe(403);

    const removed = await api("DELETE", `/api/v1/offers/${id}/`, { token: admin.token });
    expect(removed.status).toBe(200);
    expect(removed.body.is_active).toBe(false);
    expect((await api("GET", `/api/v1/offers/${id}/`, { token: user.token })).status).toBe(404);
    expect((await api("GET", `/api/v1/offers/${id}/`, { token: admin.token })).body.is_active).toBe(false);
    const all = await api("GET", "/api/v1/offers/?include_inactive=true", { token: admin.token });
    expect(all.body.some((o: any) => o.id === id)).toBe(true);
  });

  it("refuses unknown fields, a zero price and a missing name", async () => {
    const admin = await createUser({ role: "admin" });
    const extra = await api("POST", "/api/v1/offers/", { token: admin.token, body: { name: "x", price: "1.00", duration_days: 1, id: 5 } });
    expect(extra.status).toBe(400);
    expect(isCleanError(extra.body)).toBe(true);
    const free = await api("POST", "/api/v1/offers/", { token: admin.token, body: { name: "x", price: "0.00", duration_days: 1 } });
    expect(free.status).toBe(400);
    const nameless = await api("POST", "/api/v1/offers/", { token: admin.token, body: { price: "1.00", duration_days: 1 } });
    expect(nameless.body.error).toBe("name is required");
  });
});

describe("GET /api/v1/offers/expiring/", () => {
  it("lists only the caller's active subscriptions ending within the window, soonest first", async () => {
    const user = await createUser();
    const other = await createUser();
    const offer = await makeOffer();
    const soon = await subscription(user.id, offer.id, 24);
    const sooner = await subscription(user.id, offer.id, 2);
    await subscription(user.id, offer.id, 24 * 10);
    await subscription(other.id, offer.id, 5);
    const res = await api("GET", "/api/v1/offers/expiring/", { token: user.token });
    expect(res.status).toBe(200);
    expect(res.body.count).toBe(2);
    expect(res.body.window_days).toBe(3);
    expect(res.body.results.map((s: any) => s.id)).toEqual([sooner.id, soon.id]);
    expect(Object.keys(res.body.results[0]).sort()).toEqual(SUBSCRIPTION_FIELDS);
  });
});

describe("POST /api/v1/offers/renew/", () => {
  it("debits the price and extends from the current end; the same Idempotency-Key replays with one debit", async () => {
    const user = await createUser({ balance: 5000 });
    const offer = await makeOffer({ price: 2000, durationDays: 30 });
    const sub = await subscription(user.id, offer.id, 24);
    const key = unique("renew-key");
    const res = await api("POST", "/api/v1/offers/renew/", { token: user.token, body: { subscription_id: sub.id }, headers: { "idempotency-key": key } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: "SUCCESS", amount: "20.00", subscription: { id: sub.id, status: "active" } });
    expect(new Date(res.body.subscription.ends_at).getTime() - new Date(sub.endsAt).getTime()).toBe(30 * 86_400_000);
    const again = await api("POST", "/api/v1/offers/renew/", { token: user.token, body: { subscription_id: sub.id }, headers: { "idempotency-key": key } });
    expect(again.body).toEqual(res.body);
    expect(await walletState(user.id)).toEqual({ balance: 3000, ledger_sum: 3000, debits: 1 });
    const tx = await api("GET", `/api/v1/account/transactions/${res.body.transaction_id}/`, { token: user.token });
    expect(tx.body).toMatchObject({ type: "RENEWAL", status: "SUCCESS", amount: "20.00" });
  });

  it("refuses another user's subscription (404) and an unaffordable renewal (400) without debiting", async () => {
    const owner = await createUser({ balance: 5000 });
    const poor = await createUser({ balance: 100 });
    const offer = await makeOffer({ price: 2000 });
    const sub = await subscription(owner.id, offer.id, 24);
    const stranger = await api("POST", "/api/v1/offers/renew/", { token: poor.token, body: { subscription_id: sub.id } });
    expect(stranger.status).toBe(404);
    const own = await subscription(poor.id, offer.id, 24);
    const broke = await api("POST", "/api/v1/offers/renew/", { token: poor.token, body: { subscription_id: own.id } });
    expect(broke.status).toBe(400);
    expect(broke.body.error).toBe("Insufficient balance");
    expect(await walletState(poor.id)).toEqual({ balance: 100, ledger_sum: 100, debits: 0 });
  });
});
