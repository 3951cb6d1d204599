// Money writes with an Idempotency-Key: the claim and the stored answer commit in the wallet
// object's own D1 batch, with the money, instead of two round trips of the request's own.
import { env } from "cloudflare:workers";
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import worker from "../../src/index";
import { BASE } from "../helpers/api";
import { createUser, walletState } from "../helpers/factories";
import { createMerchantViaApi, createVoucherViaApi } from "../helpers/marketplace-api";
import { makeOffer } from "../helpers/offer-factories";

/** The worker with a D1 binding that records every statement the request itself (not the wallet object) prepares. */
function recordingDb() {
  const prepared: string[] = [];
  const db = new Proxy(env.DB, {
    get(target, property) {
      if (property === "withSession")
        return (constraint?: string) => {
          const session = target.withSession(constraint);
          return new Proxy(session, {
            get(s, p) {
              if (p === "prepare") return (sql: string) => (prepared.push(sql), s.prepare(sql));
              const value = Reflect.get(s, p, s);
              return typeof value === "function" ? value.bind(s) : value;
            },
          });
        };
      if (property === "prepare") return (sql: string) => (prepared.push(sql), target.prepare(sql));
      const value = Reflect.get(target, property, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return { db, prepared };
}

async function post(db: D1Database, path: string, token: string, body: unknown, key: string) {
  const ctx = createExecutionContext();
  const response = await worker.fetch(
    new Request(`${BASE}${path}`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json", "idempotency-key": key },
      body: JSON.stringify(body),
    }) as Request<unknown, IncomingRequestCfProperties>,
    { ...env, DB: db },
    ctx,
  );
  await waitOnExecutionContext(ctx);
  return { status: response.status, headers: response.headers, body: (await response.json()) as any };
}

const storedKey = (scope: string) =>
  env.DB.prepare("SELECT state, response_status, response_body FROM idempotency_keys WHERE scope = ?").bind(scope).first<{ state: string; response_status: number; response_body: string }>();

describe("Idempotency-Key in the wallet's batch", () => {
  it("a purchase claims and stores its answer in the wallet's batch: the request writes no key row itself, and a replay gives the same answer", async () => {
    const merchant = await createMerchantViaApi();
    const voucher = await createVoucherViaApi(merchant);
    const buyer = await createUser({ balance: 10_000 });
    const key = `batch-${crypto.randomUUID()}`;
    const { db, prepared } = recordingDb();

    const first = await post(db, "/api/v1/voucher-purchase/purchase/", buyer.token, { voucher_id: voucher.id }, key);
    expect(first.status).toBe(201);
    expect(prepared.filter((sql) => sql.includes("idempotency_keys"))).toEqual([]);
    const stored = await storedKey(`${buyer.id}:POST:/api/v1/voucher-purchase/purchase:${key}`);
    expect(stored).toMatchObject({ state: "done", response_status: 201 });
    // The row id and the balance after were filled in by the batch itself.
    expect(JSON.parse(stored!.response_body)).toEqual(first.body);
    expect(first.body.remaining_balance).toBe(90);

    const replay = await post(db, "/api/v1/voucher-purchase/purchase/", buyer.token, { voucher_id: voucher.id }, key);
    expect(replay.status).toBe(201);
    expect(replay.headers.get("idempotent-replayed")).toBe("true");
    expect(replay.body).toEqual(first.body);
    expect(await walletState(buyer.id)).toEqual({ balance: 9_000, ledger_sum: 9_000, debits: 1 });
  });

  it("an activation stores its answer in the batch; a concurrent burst with one key debits once and every 202 has that answer", async () => {
    const user = await createUser({ balance: 10_000 });
    const offer = await makeOffer({ price: 1000 });
    const key = `batch-${crypto.randomUUID()}`;
    const { db, prepared } = recordingDb();
    const answers = await Promise.all(Array.from({ length: 6 }, () => post(db, "/api/v1/activation/", user.token, { offer_id: offer.id }, key)));
    expect(answers.map((a) => a.status)).toEqual(Array(6).fill(202));
    expect(answers.filter((a) => a.headers.get("idempotent-replayed") !== "true")).toHaveLength(1);
    expect(new Set(answers.map((a) => a.body.transaction_id)).size).toBe(1);
    expect(prepared.filter((sql) => sql.includes("idempotency_keys"))).toEqual([]);
    expect(await walletState(user.id)).toEqual({ balance: 9_000, ledger_sum: 9_000, debits: 1 });
  });

  it("an answer given before the wallet (unknown voucher, too little balance) is stored once and replayed, and moves nothing", async () => {
    const merchant = await createMerchantViaApi();
    const voucher = await createVoucherViaApi(merchant);
    const poor = await createUser({ balance: 500 });
    const { db } = recordingDb();

    const missingKey = `batch-${crypto.randomUUID()}`;
    const missing = await post(db, "/api/v1/voucher-purchase/purchase/", poor.token, { voucher_id: voucher.id + 100_000 }, missingKey);
    expect(missing.status).toBe(404);
    const again = await post(db, "/api/v1/voucher-purchase/purchase/", poor.token, { voucher_id: voucher.id + 100_000 }, missingKey);
    expect(again.status).toBe(404);
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    expect(again.body).toEqual(missing.body);

    const poorKey = `batch-${crypto.randomUUID()}`;
    const refused = await post(db, "/api/v1/voucher-purchase/purchase/", poor.token, { voucher_id: voucher.id }, poorKey);
    expect(refused.status).toBe(400);
    expect(refused.body.code).toBe("INSUFFICIENT_BALANCE");
    const other = await post(db, "/api/v1/voucher-purchase/purchase/", poor.token, { voucher_id: voucher.id + 1 }, poorKey);
    expect(other.status).toBe(422);
    expect(await walletState(poor.id)).toEqual({ balance: 500, ledger_sum: 500, debits: 0 });
  });
});
