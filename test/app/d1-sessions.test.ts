import { env } from "cloudflare:workers";
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import worker from "../../src/index";
import { BOOKMARK_HEADER, isWrite, validBookmark } from "../../src/db/request-db";
import { BASE } from "../helpers/api";
import { createUser } from "../helpers/factories";
import { insertMerchant, insertPurchase, insertVoucher } from "../helpers/voucher-factories";

const BOOKMARK = /^[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{32}$/;

/** The worker's fetch with a D1 binding we can watch or bend (a replica that lags). */
async function call(db: D1Database, path: string, init: RequestInit = {}) {
  const ctx = createExecutionContext();
  const response = await worker.fetch(new Request(`${BASE}${path}`, init) as Request<unknown, IncomingRequestCfProperties>, { ...env, DB: db }, ctx);
  await waitOnExecutionContext(ctx);
  return response;
}

/** Records the constraint or bookmark each request's session is opened with. */
function recordingDb() {
  const opened: (string | undefined)[] = [];
  const db = new Proxy(env.DB, {
    get(target, property) {
      if (property === "withSession")
        return (constraint?: string) => {
          opened.push(constraint);
          return target.withSession(constraint);
        };
      const value = Reflect.get(target, property, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return { db, opened };
}

/** A bookmark of the database as it is now. */
async function primaryBookmark() {
  const session = env.DB.withSession("first-primary");
  await session.prepare("SELECT 1").first();
  return session.getBookmark()!;
}

describe("D1 sessions and bookmarks", () => {
  it("opens each request's session unconstrained, or at the client's bookmark; a malformed one is ignored", async () => {
    const { db, opened } = recordingDb();
    const user = await createUser();
    const auth = { authorization: `Bearer ${user.token}` };
    const bookmark = await primaryBookmark();

    const first = await call(db, "/api/v1/account/", { headers: auth });
    expect(first.status).toBe(200);
    expect(first.headers.get(BOOKMARK_HEADER)).toMatch(BOOKMARK);
    await call(db, "/api/v1/account/", { headers: { ...auth, [BOOKMARK_HEADER]: bookmark } });
    await call(db, "/api/v1/account/", { headers: { ...auth, [BOOKMARK_HEADER]: "first-primary'; DROP TABLE users" } });
    expect(opened).toEqual(["first-unconstrained", bookmark, "first-unconstrained"]);
  });

  it("after a purchase (written by the wallet's Durable Object) the request reads at the object's bookmark and answers it", async () => {
    const merchant = await insertMerchant();
    const voucher = await insertVoucher(merchant);
    const buyer = await createUser({ balance: 1_000_000 });
    const { db, opened } = recordingDb();
    const res = await call(db, "/api/v1/voucher-purchase/purchase/", {
      method: "POST",
      headers: { authorization: `Bearer ${buyer.token}`, "content-type": "application/json" },
      body: JSON.stringify({ voucher_id: voucher.id }),
    });
    expect(res.status).toBe(201);
    // The request's own session for the voucher read; nothing is read after the wallet's write, so
    // no second session is opened, and the answer carries the bookmark that write returned.
    expect(opened).toEqual(["first-unconstrained"]);
    expect(res.headers.get(BOOKMARK_HEADER)).toMatch(BOOKMARK);
  });

  it("a request that reads nothing opens no session, and echoes the client's bookmark", async () => {
    const { db, opened } = recordingDb();
    const bookmark = await primaryBookmark();
    const res = await call(db, "/api/v1/health/live", { headers: { [BOOKMARK_HEADER]: bookmark } });
    expect(res.status).toBe(200);
    expect(opened).toEqual([]);
    expect(res.headers.get(BOOKMARK_HEADER)).toBe(bookmark);
  });

  /** A replica that has not seen recent writes: `hide` rewrites each query so the new rows are missed. */
  function laggingDb(hide: (sql: string) => string) {
    const replicaReads: string[] = [];
    const db = new Proxy(env.DB, {
      get(target, property) {
        if (property === "withSession")
          return () => ({
            prepare: (sql: string) => {
              replicaReads.push(sql);
              return target.prepare(hide(sql));
            },
            batch: (statements: D1PreparedStatement[]) => target.batch(statements),
            getBookmark: () => null,
          });
        const value = Reflect.get(target, property, target);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    return { db, replicaReads };
  }

  it("a scan that a lagging replica cannot answer asks the primary: a fresh purchase is found", async () => {
    const merchant = await insertMerchant();
    const voucher = await insertVoucher(merchant);
    const customer = await createUser();
    const purchase = await insertPurchase(customer, voucher);
    const { db, replicaReads } = laggingDb((sql) => sql.replace("LEFT JOIN voucher_redemptions r ON", "LEFT JOIN voucher_redemptions r ON 0 AND"));
    const res = await call(db, "/api/v1/merchant/scan/scan/", {
      method: "POST",
      headers: { authorization: `Bearer ${merchant.user.token}`, "content-type": "application/json" },
      body: JSON.stringify({ qr_data: purchase.reference }),
    });
    expect(replicaReads.filter((sql) => sql.includes("LEFT JOIN voucher_redemptions r ON"))).toHaveLength(1);
    expect(res.status).toBe(200);
    expect(((await res.json()) as any).voucher_details.purchase_reference).toBe(purchase.reference);
  });

  it("a user the replica does not know yet (registered a moment ago) is still signed in", async () => {
    const user = await createUser();
    const { db, replicaReads } = laggingDb((sql) => sql.replace("FROM users WHERE id = ?", "FROM users WHERE 0 AND id = ?"));
    const res = await call(db, "/api/v1/account/", { headers: { authorization: `Bearer ${user.token}` } });
    expect(replicaReads.some((sql) => sql.includes("FROM users WHERE id = ?"))).toBe(true);
    expect(res.status).toBe(200);
  });

  it("tells writes from reads, and accepts only well-formed bookmarks", () => {
    expect(isWrite("INSERT INTO x VALUES (1)")).toBe(true);
    expect(isWrite('update "offers" set "name" = ?')).toBe(true);
    expect(isWrite("  DELETE FROM x")).toBe(true);
    expect(isWrite("WITH s AS (SELECT 1) UPDATE x SET a = 1")).toBe(true);
    expect(isWrite("SELECT * FROM offers")).toBe(false);
    expect(isWrite("WITH s AS (SELECT 1) SELECT * FROM s")).toBe(false);
    expect(validBookmark("00000000-00000001-00000000-00000000000000000000000000000000")).not.toBeNull();
    expect(validBookmark("first-primary")).toBeNull();
    expect(validBookmark(null)).toBeNull();
  });
});
