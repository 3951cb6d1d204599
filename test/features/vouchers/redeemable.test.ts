// The redeemability rule is read three ways (the till's reason, the lists' can_redeem, and the
// guard of the redeem UPDATE); these cases check that they agree.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { PURCHASE_STATUSES } from "../../../src/db/schema";
import { canRedeem, cannotRedeemReason, redeemableCondition } from "../../../src/features/vouchers/redeemable";
import { insertMerchant } from "../../helpers/voucher-factories";

const NOW = "2026-06-01T12:00:00.000Z";
const LATER = "2026-06-02T00:00:00.000Z";

async function sqlSays(row: { purchase_status: string; expiry_date: string; remaining_redemptions: number; merchant_id: number }, units = 1) {
  const sql = `WITH t(purchase_status, expiry_date, remaining_redemptions, merchant_id) AS (VALUES (?1, ?2, ?3, ?4))
    SELECT (${redeemableCondition("t", { now: "?5", units: "?6" })}) AS ok FROM t`;
  const result = await env.DB.prepare(sql).bind(row.purchase_status, row.expiry_date, row.remaining_redemptions, row.merchant_id, NOW, units).first<{ ok: number }>();
  return result!.ok === 1;
}

describe("redeemability", () => {
  it("the TS rule and the SQL guard agree on status, expiry, units left and the merchant", async () => {
    const active = await insertMerchant();
    const inactive = await insertMerchant({ active: false });
    const cases = [];
    for (const purchase_status of PURCHASE_STATUSES)
      for (const expiry_date of [NOW, LATER])
        for (const remaining_redemptions of [0, 2])
          for (const merchant of [active, inactive]) cases.push({ purchase_status, expiry_date, remaining_redemptions, merchant });
    let redeemable = 0;
    for (const c of cases) {
      const ts = canRedeem({ ...c, merchant_active: c.merchant === active ? 1 : 0 }, NOW);
      const sql = await sqlSays({ ...c, merchant_id: c.merchant.merchantId });
      expect([c.purchase_status, c.expiry_date, c.remaining_redemptions, c.merchant === active, ts]).toEqual([c.purchase_status, c.expiry_date, c.remaining_redemptions, c.merchant === active, sql]);
      if (ts) redeemable++;
    }
    // Exactly one combination is redeemable: purchased, not expired, units left, merchant active.
    expect(redeemable).toBe(1);
  });

  it("the SQL guard refuses more units than are left; the reason names the first thing wrong", async () => {
    const { merchantId } = await insertMerchant();
    const live = { purchase_status: "purchased" as const, expiry_date: LATER, remaining_redemptions: 2, merchant_id: merchantId };
    expect(await sqlSays(live, 2)).toBe(true);
    expect(await sqlSays(live, 3)).toBe(false);
    const reason = (over: Partial<Parameters<typeof cannotRedeemReason>[0]>) =>
      cannotRedeemReason({ purchase_status: "purchased", expiry_date: LATER, remaining_redemptions: 2, merchant_active: 1, ...over }, NOW)?.code ?? null;
    expect([
      reason({}),
      reason({ purchase_status: "cancelled", remaining_redemptions: 0 }),
      reason({ purchase_status: "refunded" }),
      reason({ purchase_status: "redeemed" }),
      reason({ remaining_redemptions: 0, expiry_date: NOW }),
      reason({ purchase_status: "expired" }),
      reason({ expiry_date: NOW, merchant_active: 0 }),
      reason({ merchant_active: 0 }),
    ]).toEqual([null, "cancelled", "refunded", "used_up", "used_up", "expired", "expired", "merchant_inactive"]);
  });
});
