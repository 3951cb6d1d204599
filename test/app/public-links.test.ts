import { env, exports } from "cloudflare:workers";
import { createExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import worker from "../../src/index";
import { publicBaseUrl, publicBaseUrlProblem } from "../../src/lib/public-url";
import { createUser } from "../helpers/factories";
import { insertMerchant, insertPurchase, insertVoucher } from "../helpers/voucher-factories";

/** A request whose Host (and so its URL) is the attacker's, as `Host: attacker.example` gives. */
async function asAttacker(method: string, path: string, token?: string, body?: unknown) {
  const headers: Record<string, string> = { host: "attacker.example", "cf-connecting-ip": `198.51.100.${Math.floor(Math.random() * 250)}` };
  if (token) headers.authorization = `Bearer ${token}`;
  if (body) headers["content-type"] = "application/json";
  const res = await exports.default.fetch(new Request(`http://attacker.example${path}`, { method, headers, body: body ? JSON.stringify(body) : undefined }));
  return { status: res.status, body: (await res.json()) as any };
}

describe("absolute links come from PUBLIC_BASE_URL, never from the Host header", () => {
  it("builds pagination links from the public base", async () => {
    const user = await createUser({ balance: 0 });
    const admin = await createUser({ role: "admin" });
    for (let i = 0; i < 2; i++) {
      await exports.default.fetch(
        new Request(`http://perks.test/api/v1/admin/wallets/${user.id}/credit`, {
          method: "POST",
          headers: { authorization: `Bearer ${admin.token}`, "content-type": "application/json" },
          body: JSON.stringify({ amount: "1.00", reason: "links" }),
        }),
      );
    }
    const res = await asAttacker("GET", "/api/v1/account/transactions?page_size=1", user.token);
    expect(res.status).toBe(200);
    expect(res.body.next).toMatch(/^http:\/\/perks\.test\/api\/v1\/account\/transactions\?/);
    expect(JSON.stringify(res.body)).not.toContain("attacker.example");
  });

  it("builds the QR image URL from the public base", async () => {
    const buyer = await createUser();
    const voucher = await insertVoucher(await insertMerchant());
    const purchase = await insertPurchase(buyer, voucher);
    const res = await asAttacker("GET", `/api/v1/user-vouchers/${purchase.id}/qr-code`, buyer.token);
    expect(res.status).toBe(200);
    expect(JSON.stringify(res.body)).toContain(`http://perks.test/api/v1/user-vouchers/${purchase.id}/qr-code.svg`);
    expect(JSON.stringify(res.body)).not.toContain("attacker.example");
  });

  it("builds the gift-card claim link in the WhatsApp message from the public base", async () => {
    const owner = await createUser();
    const voucher = await insertVoucher(await insertMerchant(), { giftCard: true });
    const purchase = await insertPurchase(owner, voucher);
    const res = await asAttacker("POST", `/api/v1/vouchers/${purchase.id}/share-gift-card`, owner.token, { phone_numbers: ["+14155550199"] });
    expect(res.status).toBe(200);
    const row = await env.DB.prepare("SELECT message FROM notifications WHERE user_id = ? AND channel = 'whatsapp' ORDER BY created_at DESC LIMIT 1")
      .bind(owner.id)
      .first<{ message: string }>();
    expect(row!.message).toContain("http://perks.test/gift-cards/claim?reference=GFT-");
    expect(row!.message).not.toContain("attacker.example");
  });
});

describe("PUBLIC_BASE_URL is required outside development", () => {
  it("states the problem instead of guessing", () => {
    expect(publicBaseUrlProblem({ PUBLIC_BASE_URL: "", ENVIRONMENT: "production" })).toMatch(/PUBLIC_BASE_URL is not set/);
    expect(publicBaseUrlProblem({ PUBLIC_BASE_URL: "perks.example", ENVIRONMENT: "production" })).toMatch(/absolute/);
    expect(publicBaseUrlProblem({ PUBLIC_BASE_URL: "ftp://perks.example", ENVIRONMENT: "production" })).toMatch(/http/);
    expect(publicBaseUrlProblem({ PUBLIC_BASE_URL: "", ENVIRONMENT: "development" })).toBeNull();
    expect(publicBaseUrl({ PUBLIC_BASE_URL: "https://perks.example/", ENVIRONMENT: "production" })).toBe("https://perks.example");
  });

  it("remembers only a base that passed the check: another value, or the same one elsewhere, is checked again", () => {
    expect(publicBaseUrl({ PUBLIC_BASE_URL: "https://a.example/", ENVIRONMENT: "production" })).toBe("https://a.example");
    expect(publicBaseUrl({ PUBLIC_BASE_URL: "https://b.example", ENVIRONMENT: "production" })).toBe("https://b.example");
    expect(publicBaseUrl({ PUBLIC_BASE_URL: "", ENVIRONMENT: "development" })).toBe("http://localhost:8787");
    expect(() => publicBaseUrl({ PUBLIC_BASE_URL: "", ENVIRONMENT: "production" })).toThrow(/not fully configured/);
    expect(() => publicBaseUrl({ PUBLIC_BASE_URL: "b.example", ENVIRONMENT: "production" })).toThrow(/not fully configured/);
    expect(publicBaseUrl({ PUBLIC_BASE_URL: "https://b.example", ENVIRONMENT: "production" })).toBe("https://b.example");
  });

  it("answers every request but health with 503 when it is missing in production", async () => {
    const broken = { ...env, PUBLIC_BASE_URL: "", ENVIRONMENT: "production" } as typeof env;
    const res = await worker.fetch(new Request("http://perks.test/api/v1/public-vouchers"), broken, createExecutionContext());
    expect(res.status).toBe(503);
    const body = (await res.json()) as { code: string; error: string };
    expect(body.code).toBe("SERVICE_UNAVAILABLE");
    expect(body.error).not.toMatch(/PUBLIC_BASE_URL/);
    const health = await worker.fetch(new Request("http://perks.test/api/v1/health/live"), broken, createExecutionContext());
    expect(health.status).toBe(200);
  });
});
