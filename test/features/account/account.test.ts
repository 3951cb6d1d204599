import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { api, isCleanError } from "../../helpers/api";
import { createUser } from "../../helpers/factories";
import { deliverActivation, makeOffer, pendingActivation } from "../../helpers/offer-factories";

const TRANSACTION_FIELDS = ["amount", "created_at", "description", "failure_reason", "offer_id", "reference", "status", "transaction_id", "type", "updated_at"];

describe("GET /api/v1/account/", () => {
  it("answers balance as '100.00' and the active subscriptions", async () => {
    const user = await createUser({ balance: 12_000 });
    const offer = await makeOffer({ price: 2000 });
    const id = await pendingActivation(user.id, offer.id);
    const pending = await api("GET", "/api/v1/account/", { token: user.token });
    expect(pending.body).toEqual({ balance: "100.00", active_subscriptions: [] });
    await deliverActivation(id);
    const res = await api("GET", "/api/v1/account/", { token: user.token });
    expect(res.status).toBe(200);
    expect(Object.keys(res.body).sort()).toEqual(["active_subscriptions", "balance"]);
    expect(res.body.active_subscriptions).toHaveLength(1);
    expect(res.body.active_subscriptions[0]).toMatchObject({ offer_id: offer.id, status: "active", transaction_id: id });
  });

  it("requires a token", async () => {
    expect((await api("GET", "/api/v1/account/")).status).toBe(401);
  });
});

describe("GET /api/v1/account/transactions/", () => {
  it("pages the caller's transactions newest first and filters by type and status", async () => {
    const user = await createUser({ balance: 20_000 });
    const other = await createUser({ balance: 20_000 });
    const good = await makeOffer({ price: 1000 });
    const bad = await makeOffer({ price: 1000, sandboxOutcome: "fail" });
    const ids: string[] = [];
    for (const offer of [good, good, bad]) ids.push(await pendingActivation(user.id, offer.id));
    await pendingActivation(other.id, good.id);
    await deliverActivation(ids[2]!);

    const page1 = await api("GET", "/api/v1/account/transactions/?page_size=2", { token: user.token });
    expect(page1.status).toBe(200);
    expect(page1.body.count).toBe(3);
    expect(page1.body.results).toHaveLength(2);
    expect(page1.body.next).toContain("page=2");
    expect(page1.body.previous).toBeNull();
    expect(Object.keys(page1.body.results[0]).sort()).toEqual(TRANSACTION_FIELDS);
    const page2 = await api("GET", "/api/v1/account/transactions/?page=2&page_size=2", { token: user.token });
    const all = [...page1.body.results, ...page2.body.results].map((t: any) => t.transaction_id);
    expect(all.sort()).toEqual([...ids].sort());

    const failed = await api("GET", "/api/v1/account/transactions/?status=FAILED&type=ACTIVATION", { token: user.token });
    expect(failed.body.count).toBe(1);
    expect(failed.body.results[0]).toMatchObject({ transaction_id: ids[2], status: "FAILED", amount: "10.00", type: "ACTIVATION" });
    const credits = await api("GET", "/api/v1/account/transactions/?type=CREDIT", { token: user.token });
    expect(credits.body.count).toBe(0);
    const invalid = await api("GET", "/api/v1/account/transactions/?status=BOGUS", { token: user.token });
    expect(invalid.status).toBe(400);
  });
});

describe("GET /api/v1/account/transactions/{transaction_id}/", () => {
  it("answers the caller's own transaction and 404 for another user's", async () => {
    const owner = await createUser({ balance: 5000 });
    const stranger = await createUser();
    const offer = await makeOffer({ price: 2000 });
    const id = await pendingActivation(owner.id, offer.id);
    const own = await api("GET", `/api/v1/account/transactions/${id}/`, { token: owner.token });
    expect(own.status).toBe(200);
    expect(own.body).toMatchObject({ transaction_id: id, type: "ACTIVATION", status: "PENDING", amount: "20.00", offer_id: offer.id });
    const theirs = await api("GET", `/api/v1/account/transactions/${id}/`, { token: stranger.token });
    expect(theirs.status).toBe(404);
    expect(isCleanError(theirs.body)).toBe(true);
    const row = await env.DB.prepare("SELECT user_id FROM transactions WHERE id = ?").bind(id).first<{ user_id: number }>();
    expect(row!.user_id).toBe(owner.id);
  });
});
