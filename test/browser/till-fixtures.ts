// What the till tests need, made through the API as a person would: a merchant with a voucher, and
// customers who bought it (the local worker's signup bonus pays for the purchase).
import { randomUUID } from "node:crypto";

export const PASSWORD = "till-test-password-1";

/** Calls the API as a person's app would; `apiKey` for a worker that requires an X-API-Key. */
export function client(base: string, apiKey?: string) {
  return async function call<T = any>(method: string, path: string, { token, body }: { token?: string; body?: unknown } = {}): Promise<T> {
    const headers: Record<string, string> = { "content-type": "application/json", "Idempotency-Key": randomUUID() };
    if (token) headers.authorization = `Bearer ${token}`;
    if (apiKey) headers["x-api-key"] = apiKey;
    const res = await fetch(`${base}/api/v1${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const data = await res.json().catch(() => null);
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(data)}`);
    return data as T;
  };
}

const uniqueName = (prefix: string) => `${prefix}_${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;

export async function register(base: string, prefix: string, names: { first_name?: string; last_name?: string } = {}, apiKey?: string) {
  const call = client(base, apiKey);
  const username = uniqueName(prefix);
  const { access } = await call("POST", "/auth/register", { body: { username, password: PASSWORD, ...names } });
  return { username, token: access as string };
}

export async function merchantWithVoucher(base: string, options: { title?: string; uses?: number; apiKey?: string } = {}) {
  const call = client(base, options.apiKey);
  const merchant = await register(base, "till_merchant", {}, options.apiKey);
  await call("POST", "/merchants/profile", { token: merchant.token, body: { business_name: uniqueName("Till Cafe") } });
  // Log in again: the new token carries the merchant role.
  const { access } = await call("POST", "/auth/login", { body: { username: merchant.username, password: PASSWORD } });
  const voucher = await call("POST", "/vouchers/", {
    token: access,
    body: { title: options.title ?? "Free Flat White", voucher_type: 3, product_name: "Flat white", redemptions_per_purchase: options.uses ?? 3, is_active: true, count: 50 },
  });
  return { ...merchant, token: access as string, voucherId: voucher.id as number, voucherTitle: voucher.title as string };
}

/** A customer buys the voucher; answers the purchase and the QR data the customer's app shows. */
export async function purchase(base: string, voucherId: number, names = { first_name: "Asha", last_name: "Rao" }, apiKey?: string) {
  const call = client(base, apiKey);
  const customer = await register(base, "till_customer", names, apiKey);
  const bought = await call("POST", "/voucher-purchase/purchase/", { token: customer.token, body: { voucher_id: voucherId } });
  const qr = await call("GET", `/user-vouchers/${bought.redemption_id}/qr-code/`, { token: customer.token });
  return { customer, reference: bought.purchase_reference as string, redemptionId: bought.redemption_id as number, qr: qr.qr_code_data as { purchase_reference: string } };
}
