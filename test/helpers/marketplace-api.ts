import { env } from "cloudflare:workers";
import { api } from "./api";
import { createUser, unique, type TestUser } from "./factories";

export interface ApiMerchant extends TestUser {
  merchantId: number;
  businessName: string;
}

/** A user who created a merchant profile through the API (their token still says role user). */
export async function createMerchantViaApi(options: { businessName?: string; balance?: number } = {}): Promise<ApiMerchant> {
  const user = await createUser({ balance: options.balance });
  const businessName = options.businessName ?? unique("Shop ");
  const res = await api("POST", "/api/v1/merchants/profile/", { token: user.token, body: { business_name: businessName, city: "Mumbai", state: "Maharashtra" } });
  if (res.status !== 201) throw new Error(`merchant profile: ${res.status} ${JSON.stringify(res.body)}`);
  return { ...user, merchantId: res.body.merchant.id, businessName };
}

export const percentageVoucher = (overrides: Record<string, unknown> = {}) => ({
  title: unique("Coffee deal "),
  message: "Get 50% off on any coffee",
  voucher_type: 1,
  percentage_value: "50.00",
  percentage_min_bill: 100,
  ...overrides,
});

export async function createVoucherViaApi(merchant: ApiMerchant, body: Record<string, unknown> = {}) {
  const res = await api("POST", "/api/v1/vouchers/", { token: merchant.token, body: percentageVoucher(body) });
  if (res.status !== 201) throw new Error(`voucher: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as { id: number; title: string; [key: string]: unknown };
}

export async function purchaseViaApi(token: string, voucherId: number, headers: Record<string, string> = {}) {
  return api("POST", "/api/v1/voucher-purchase/purchase/", { token, body: { voucher_id: voucherId }, headers });
}

export async function voucherRow(id: number) {
  return (await env.DB.prepare("SELECT * FROM vouchers WHERE id = ?").bind(id).first<Record<string, any>>())!;
}

export { redemptionRow } from "./voucher-factories";
