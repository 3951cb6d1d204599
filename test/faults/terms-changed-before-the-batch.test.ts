// Fault: the voucher or offer changes between a request's read of its terms and the wallet's batch
// (an admin, a merchant or another isolate writing in between). The batch checks the terms itself,
// so nothing is sold or debited at terms that no longer hold: the answer is the current refusal, or
// the sale at the current price.
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import type { Env } from "../../src/env";
import { createUser, walletState } from "../helpers/factories";
import { makeOffer } from "../helpers/offer-factories";
import { insertMerchant, insertVoucher } from "../helpers/voucher-factories";
import { beforeNextBatch, call, expectConservation, recordingQueue } from "./helpers";

const workerEnv = () => ({ ...env, ACTIVATIONS: recordingQueue() }) as unknown as Env;
let restore = () => {};
afterEach(async () => {
  restore();
  await env.DB.prepare("UPDATE site_settings SET value = '1000' WHERE key = 'voucher_cost'").run();
});

const soldCount = async (voucherId: number) => (await env.DB.prepare("SELECT sold_count FROM vouchers WHERE id = ?").bind(voucherId).first<{ sold_count: number }>())!.sold_count;

describe("terms changed between the read and the wallet's batch", () => {
  it("a voucher deactivated in between is not sold: 400 INACTIVE, no debit, no stock taken", async () => {
    const voucher = await insertVoucher(await insertMerchant());
    const buyer = await createUser({ balance: 10_000 });
    restore = beforeNextBatch(() => env.DB.prepare("UPDATE vouchers SET is_active = 0 WHERE id = ?").bind(voucher.id).run());
    const res = await call(workerEnv(), "POST", "/api/v1/voucher-purchase/purchase/", { token: buyer.token, body: { voucher_id: voucher.id } });
    expect([res.status, res.body.code]).toEqual([400, "INACTIVE"]);
    expect(await walletState(buyer.id)).toEqual({ balance: 10_000, ledger_sum: 10_000, debits: 0 });
    expect(await soldCount(voucher.id)).toBe(0);
  });

  it("a voucher price raised in between is charged and answered at the new price", async () => {
    const voucher = await insertVoucher(await insertMerchant());
    const buyer = await createUser({ balance: 10_000 });
    restore = beforeNextBatch(() => env.DB.prepare("UPDATE site_settings SET value = '2500' WHERE key = 'voucher_cost'").run());
    const res = await call(workerEnv(), "POST", "/api/v1/voucher-purchase/purchase/", { token: buyer.token, body: { voucher_id: voucher.id } });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ purchase_cost: 25, remaining_balance: 75 });
    expect(await walletState(buyer.id)).toEqual({ balance: 7_500, ledger_sum: 7_500, debits: 1 });
    expect(await soldCount(voucher.id)).toBe(1);
    await expectConservation(buyer.id);
  });

  it("an offer deactivated in between is not activated: 404, no debit, no transaction", async () => {
    const offer = await makeOffer({ price: 2000 });
    const user = await createUser({ balance: 5000 });
    restore = beforeNextBatch(() => env.DB.prepare("UPDATE offers SET is_active = 0 WHERE id = ?").bind(offer.id).run());
    const res = await call(workerEnv(), "POST", "/api/v1/activation/", { token: user.token, body: { offer_id: offer.id } });
    expect([res.status, res.body.code]).toEqual([404, "NOT_FOUND"]);
    expect(await walletState(user.id)).toEqual({ balance: 5000, ledger_sum: 5000, debits: 0 });
    expect(await env.DB.prepare("SELECT COUNT(*) AS n FROM transactions WHERE user_id = ?").bind(user.id).first()).toEqual({ n: 0 });
  });

  it("an offer price changed in between is debited at the new price", async () => {
    const offer = await makeOffer({ price: 2000 });
    const user = await createUser({ balance: 5000 });
    restore = beforeNextBatch(() => env.DB.prepare("UPDATE offers SET price = 3000 WHERE id = ?").bind(offer.id).run());
    const res = await call(workerEnv(), "POST", "/api/v1/activation/", { token: user.token, body: { offer_id: offer.id } });
    expect(res.status).toBe(202);
    expect(await walletState(user.id)).toEqual({ balance: 2000, ledger_sum: 2000, debits: 1 });
    const tx = await env.DB.prepare("SELECT amount FROM transactions WHERE id = ?").bind(res.body.transaction_id).first<{ amount: number }>();
    expect(tx!.amount).toBe(3000);
  });
});
