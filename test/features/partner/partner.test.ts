import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { api, isCleanError } from "../../helpers/api";
import { createUser, unique, walletState } from "../../helpers/factories";
import { makeOffer, partnerHeaders, pendingActivation, refundsOf, txRow } from "../../helpers/offer-factories";

async function partner(method: "GET" | "POST", path: string, body?: unknown, options: Parameters<typeof partnerHeaders>[3] = {}) {
  const raw = body === undefined ? "" : JSON.stringify(body);
  const headers = await partnerHeaders(method, path, raw, options);
  return { res: await api(method, path, { headers, ...(body === undefined ? {} : { raw }) }), headers };
}

describe("partner authentication", () => {
  it("refuses a missing, wrong or stale signature with 401 and a reused nonce with 409", async () => {
    const path = "/api/v1/partner/validate/SUB-NOPE";
    const unsigned = await api("GET", path);
    expect(unsigned.status).toBe(401);
    expect(unsigned.body.code).toBe("INVALID_SIGNATURE");
    expect(isCleanError(unsigned.body)).toBe(true);

    const wrongSecret = await partner("GET", path, undefined, { secret: "not-the-secret" });
    expect(wrongSecret.res.status).toBe(401);

    const stale = await partner("GET", path, undefined, { timestamp: Math.floor(Date.now() / 1000) - 301 });
    expect(stale.res.status).toBe(401);

    const first = await partner("GET", path);
    expect(first.res.status).toBe(404);
    const replay = await api("GET", path, { headers: first.headers });
    expect(replay.status).toBe(409);
    expect(replay.body.code).toBe("REPLAYED_REQUEST");
  });

  it("binds the signature to the body: a tampered body is refused", async () => {
    const path = "/api/v1/partner/callback";
    const signed = await partnerHeaders("POST", path, JSON.stringify({ transaction_id: "a", status: "SUCCESS" }));
    const res = await api("POST", path, { headers: signed, raw: JSON.stringify({ transaction_id: "a", status: "FAILED" }) });
    expect(res.status).toBe(401);
  });
});

describe("POST /api/v1/partner/activate/", () => {
  it("debits and records an active subscription; the same reference replays with one debit", async () => {
    const user = await createUser({ balance: 5000 });
    const offer = await makeOffer({ price: 2000, durationDays: 10 });
    const reference = unique("P-REF-");
    const first = await partner("POST", "/api/v1/partner/activate/", { user_id: user.id, offer_id: offer.id, reference });
    expect(first.res.status).toBe(201);
    expect(first.res.body).toMatchObject({ status: "SUCCESS", amount: "20.00", reference, subscription: { status: "active", offer_id: offer.id } });
    const again = await partner("POST", "/api/v1/partner/activate/", { user_id: user.id, offer_id: offer.id, reference });
    expect(again.res.status).toBe(200);
    expect(again.res.body.transaction_id).toBe(first.res.body.transaction_id);
    expect(await walletState(user.id)).toEqual({ balance: 3000, ledger_sum: 3000, debits: 1 });
  });

  it("a repeated activation that spent the whole balance replays, not 400 (the partner's retry after a lost answer)", async () => {
    const user = await createUser({ balance: 2000 });
    const offer = await makeOffer({ price: 2000, durationDays: 10 });
    const reference = unique("P-ALL-");
    const first = await partner("POST", "/api/v1/partner/activate/", { user_id: user.id, offer_id: offer.id, reference });
    expect(first.res.status).toBe(201);
    const retries = await Promise.all([1, 2, 3].map(() => partner("POST", "/api/v1/partner/activate/", { user_id: user.id, offer_id: offer.id, reference })));
    expect(retries.map((r) => r.res.status)).toEqual([200, 200, 200]);
    expect(retries.every((r) => r.res.body.transaction_id === first.res.body.transaction_id)).toBe(true);
    expect(await walletState(user.id)).toEqual({ balance: 0, ledger_sum: 0, debits: 1 });
  });

  it("answers 400 Insufficient balance and 404 for an unknown user", async () => {
    const poor = await createUser({ balance: 100 });
    const offer = await makeOffer({ price: 2000 });
    const broke = await partner("POST", "/api/v1/partner/activate/", { user_id: poor.id, offer_id: offer.id, reference: unique("R") });
    expect(broke.res.status).toBe(400);
    expect(broke.res.body.error).toBe("Insufficient balance");
    const nobody = await partner("POST", "/api/v1/partner/activate/", { user_id: 9_999_999, offer_id: offer.id, reference: unique("R") });
    expect(nobody.res.status).toBe(404);
  });
});

describe("GET /api/v1/partner/validate/{reference}/", () => {
  it("reports an active subscription as valid and a pending one as not", async () => {
    const user = await createUser({ balance: 5000 });
    const offer = await makeOffer({ price: 1000 });
    const activated = await partner("POST", "/api/v1/partner/activate/", { user_id: user.id, offer_id: offer.id, reference: unique("R") });
    const reference = activated.res.body.subscription.reference as string;
    const ok = await partner("GET", `/api/v1/partner/validate/${reference}/`);
    expect(ok.res.status).toBe(200);
    expect(ok.res.body).toMatchObject({ reference, valid: true, status: "active", user_id: user.id, offer_id: offer.id });

    const pendingId = await pendingActivation(user.id, offer.id);
    const pendingRef = (await env.DB.prepare("SELECT reference FROM subscriptions WHERE transaction_id = ?").bind(pendingId).first<{ reference: string }>())!.reference;
    const pending = await partner("GET", `/api/v1/partner/validate/${pendingRef}`);
    expect(pending.res.body).toMatchObject({ valid: false, status: "pending" });
  });
});

describe("POST /api/v1/partner/callback/", () => {
  it("FAILED completes a pending activation like the consumer: refund once; a duplicate callback changes nothing", async () => {
    const user = await createUser({ balance: 5000 });
    const offer = await makeOffer({ price: 2000 });
    const id = await pendingActivation(user.id, offer.id);
    const first = await partner("POST", "/api/v1/partner/callback/", { transaction_id: id, status: "FAILED", reason: "card blocked" });
    expect(first.res.status).toBe(200);
    expect(first.res.body).toEqual({ transaction_id: id, status: "FAILED", applied: true });
    const duplicate = await partner("POST", "/api/v1/partner/callback/", { transaction_id: id, status: "FAILED", reason: "card blocked" });
    expect(duplicate.res.body).toEqual({ transaction_id: id, status: "FAILED", applied: false });
    // A success after the refund changes nothing here; the partner is asked to cancel what it provisioned.
    const late = await partner("POST", "/api/v1/partner/callback/", { transaction_id: id, status: "SUCCESS" });
    expect(late.res.body).toEqual({ transaction_id: id, status: "FAILED", applied: false, cancel_requested: true });
    expect(await refundsOf(id)).toEqual({ n: 1, total: 2000 });
    expect(await walletState(user.id)).toEqual({ balance: 5000, ledger_sum: 5000, debits: 1 });
  });

  it("SUCCESS activates the subscription; an unknown transaction is 404", async () => {
    const user = await createUser({ balance: 5000 });
    const offer = await makeOffer();
    const id = await pendingActivation(user.id, offer.id);
    const res = await partner("POST", "/api/v1/partner/callback", { transaction_id: id, status: "SUCCESS" });
    expect(res.res.body).toMatchObject({ status: "SUCCESS", applied: true });
    expect(await txRow(id)).toMatchObject({ status: "SUCCESS", sub_status: "active" });
    const unknown = await partner("POST", "/api/v1/partner/callback", { transaction_id: crypto.randomUUID(), status: "SUCCESS" });
    expect(unknown.res.status).toBe(404);
  });
});
