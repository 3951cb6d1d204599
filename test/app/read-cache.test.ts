import { env } from "cloudflare:workers";
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import worker from "../../src/index";
import { PUBLIC_MAX_AGE_SECONDS, SHARED_LOAD_WAIT_MS, cached, readCacheClock } from "../../src/lib/read-cache";
import { getCost } from "../../src/features/settings/settings.service";
import { RequestDb } from "../../src/db/request-db";
import { BASE } from "../helpers/api";
import { createUser, unique } from "../helpers/factories";
import { insertMerchant, insertVoucher } from "../helpers/voucher-factories";

// The suite runs with the cache off (fixtures are written straight to D1); here it is on, with a
// clock the tests move instead of waiting.
const CACHE_SECONDS = 10;
let now = Date.now();
readCacheClock.now = () => now;
afterEach(() => {
  now += 3_600_000; // every test starts with nothing cached
});

async function call(path: string, init: { method?: string; token?: string; body?: unknown; headers?: Record<string, string> } = {}, cacheSeconds = CACHE_SECONDS) {
  const headers: Record<string, string> = { ...init.headers };
  if (init.token) headers.authorization = `Bearer ${init.token}`;
  if (init.body !== undefined) headers["content-type"] = "application/json";
  const request = new Request(`${BASE}${path}`, { method: init.method ?? "GET", headers, body: init.body === undefined ? undefined : JSON.stringify(init.body) });
  const ctx = createExecutionContext();
  const response = await worker.fetch(request as Request<unknown, IncomingRequestCfProperties>, { ...env, READ_CACHE_SECONDS: String(cacheSeconds) }, ctx);
  await waitOnExecutionContext(ctx);
  const text = await response.text();
  return { status: response.status, headers: response.headers, text, body: text ? JSON.parse(text) : null };
}

/** A write made elsewhere (another isolate, a cron job): straight to D1, not through this isolate's request path. */
const insertOfferElsewhere = (name: string) =>
  env.DB.prepare(
    "INSERT INTO offers (name, description, price, duration_days, is_active, partner, sandbox_outcome, created_at, updated_at) VALUES (?, '', 500, 30, 1, 'sandbox', 'succeed', ?, ?)",
  )
    .bind(name, new Date().toISOString(), new Date().toISOString())
    .run();

const names = (body: { name: string }[]) => body.map((o) => o.name);

describe("per-isolate read cache", () => {
  it("serves the offers catalogue from the cache within the bound, and D1's state after it", async () => {
    const user = await createUser();
    const first = await call("/api/v1/offers/", { token: user.token });
    expect(first.status).toBe(200);
    expect(first.headers.get("cache-control")).toBe("no-store");

    const elsewhere = unique("Elsewhere ");
    await insertOfferElsewhere(elsewhere);
    now += (CACHE_SECONDS - 1) * 1000;
    const within = await call("/api/v1/offers/", { token: user.token });
    expect(names(within.body)).not.toContain(elsewhere);
    expect(within.text).toBe(first.text);

    now += 2000; // past the bound
    const after = await call("/api/v1/offers/", { token: user.token });
    expect(names(after.body)).toContain(elsewhere);
  });

  it("a change made through this isolate is visible at once", async () => {
    const admin = await createUser({ role: "admin" });
    const user = await createUser();
    await call("/api/v1/offers/", { token: user.token });
    const name = unique("Fresh ");
    const created = await call("/api/v1/offers/", { method: "POST", token: admin.token, body: { name, price: "5.00", duration_days: 7 } });
    expect(created.status).toBe(201);
    expect(names((await call("/api/v1/offers/", { token: user.token })).body)).toContain(name);

    const patched = await call(`/api/v1/offers/${created.body.id}/`, { method: "PATCH", token: admin.token, body: { is_active: false } });
    expect(patched.status).toBe(200);
    expect(names((await call("/api/v1/offers/", { token: user.token })).body)).not.toContain(name);
  });

  it("admins never get the shared catalogue (they see sandbox_outcome and inactive offers)", async () => {
    const admin = await createUser({ role: "admin" });
    const user = await createUser();
    await call("/api/v1/offers/", { token: user.token });
    const list = await call("/api/v1/offers/?include_inactive=true", { token: admin.token });
    expect(list.body.every((o: Record<string, unknown>) => "sandbox_outcome" in o)).toBe(true);
  });

  it("site settings: cached within the bound; a change written through this isolate is seen at once", async () => {
    const cacheEnv = { DB: env.DB, READ_CACHE_SECONDS: String(CACHE_SECONDS) };
    const setCost = (value: number) =>
      env.DB.prepare("UPDATE site_settings SET value = ? WHERE key = 'advertisement_cost'").bind(String(value)).run();
    await setCost(1500);
    expect(await getCost(cacheEnv, "advertisement_cost")).toBe(1500);
    await setCost(1700); // elsewhere
    expect(await getCost(cacheEnv, "advertisement_cost")).toBe(1500);
    now += CACHE_SECONDS * 1000 + 1;
    expect(await getCost(cacheEnv, "advertisement_cost")).toBe(1700);
    // Through a request's database (this isolate's write path): dropped at once.
    const requestDb = new RequestDb(env.DB, null);
    await requestDb.prepare("UPDATE site_settings SET value = ? WHERE key = 'advertisement_cost'").bind("1900").run();
    expect(await getCost(cacheEnv, "advertisement_cost")).toBe(1900);
  });

  it("concurrent misses wait for the one load already running: fifty at once load once", async () => {
    const key = `test-load:${unique()}`;
    const cacheEnv = { READ_CACHE_SECONDS: String(CACHE_SECONDS) };
    const loads: string[] = [];
    let finish!: (value: string) => void;
    const answers = Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        cached(cacheEnv, key, ["offers"], () => {
          loads.push(`load ${i}`);
          return new Promise<string>((resolve) => (finish = resolve));
        }),
      ),
    );
    finish("the one load");
    expect(new Set(await answers)).toEqual(new Set(["the one load"]));
    expect(loads).toEqual(["load 0"]);
  });

  it("a load that does not finish (its request cancelled) holds the others up for at most SHARED_LOAD_WAIT_MS; a failed one not at all", async () => {
    const key = `test-load:${unique()}`;
    const cacheEnv = { READ_CACHE_SECONDS: String(CACHE_SECONDS) };
    const loads: string[] = [];
    let finishFirst!: (value: string) => void;
    const first = cached(cacheEnv, key, ["offers"], () => {
      loads.push("first");
      return new Promise<string>((resolve) => (finishFirst = resolve));
    });
    const started = Date.now();
    const second = await cached(cacheEnv, key, ["offers"], async () => {
      loads.push("second");
      return "second's own";
    });
    expect(second).toBe("second's own");
    expect(Date.now() - started).toBeGreaterThanOrEqual(SHARED_LOAD_WAIT_MS - 5);
    finishFirst("first's");
    expect(await first).toBe("first's");
    // Finished now: the next request takes it without loading.
    const third = await cached(cacheEnv, key, ["offers"], async () => {
      loads.push("third");
      return "third's own";
    });
    expect(third).toBe("first's");
    expect(loads).toEqual(["first", "second"]);

    const failingKey = `${key}:failing`;
    let failFirst!: (error: Error) => void;
    const failing = cached(cacheEnv, failingKey, ["offers"], () => new Promise<string>((_, reject) => (failFirst = reject)));
    const waiting = cached(cacheEnv, failingKey, ["offers"], async () => "loaded after the failure");
    failFirst(new Error("D1 unavailable"));
    await expect(failing).rejects.toThrow("D1 unavailable");
    expect(await waiting).toBe("loaded after the failure");
  });

  it("with READ_CACHE_SECONDS=0 every read goes to D1", async () => {
    const user = await createUser();
    await call("/api/v1/offers/", { token: user.token }, 0);
    const elsewhere = unique("Uncached ");
    await insertOfferElsewhere(elsewhere);
    expect(names((await call("/api/v1/offers/", { token: user.token }, 0)).body)).toContain(elsewhere);
  });
});

describe("anonymous public pages: shared caching with ETag", () => {
  it("categories carry a public Cache-Control and an ETag; If-None-Match answers 304; a change made here changes the ETag", async () => {
    const admin = await createUser({ role: "admin" });
    const first = await call("/api/v1/categories/");
    expect(first.status).toBe(200);
    expect(first.headers.get("cache-control")).toBe(`public, max-age=${PUBLIC_MAX_AGE_SECONDS}`);
    const etag = first.headers.get("etag")!;
    expect(etag).toMatch(/^"[0-9a-f]{24}"$/);
    // The ETag is the first 12 bytes of the body's SHA-256, in hex: the same body, the same tag.
    const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(first.text)));
    expect(etag).toBe(`"${Array.from(digest.subarray(0, 12), (b) => b.toString(16).padStart(2, "0")).join("")}"`);

    const revalidated = await call("/api/v1/categories/", { headers: { "if-none-match": etag } });
    expect(revalidated.status).toBe(304);
    expect(revalidated.text).toBe("");
    expect(revalidated.headers.get("etag")).toBe(etag);
    expect((await call("/api/v1/categories/", { headers: { "if-none-match": '"something-else"' } })).status).toBe(200);

    const name = unique("Cat ");
    expect((await call("/api/v1/categories/", { method: "POST", token: admin.token, body: { name } })).status).toBe(201);
    const changed = await call("/api/v1/categories/", { headers: { "if-none-match": etag } });
    expect(changed.status).toBe(200);
    expect(changed.headers.get("etag")).not.toBe(etag);
    expect(changed.body.results.map((c: { name: string }) => c.name)).toContain(name);
  });

  it("public voucher pages: anonymous ones are cached within the bound, a signed-in caller's are computed and never shared", async () => {
    const merchant = await insertMerchant();
    const voucher = await insertVoucher(merchant, { title: unique("Cached Coffee ") });
    const path = `/api/v1/public-vouchers/${voucher.id}/`;
    const anonymous = await call(path);
    expect(anonymous.status).toBe(200);
    expect(anonymous.body.title).toBe(voucher.title);
    expect(anonymous.headers.get("etag")).toBeTruthy();
    expect(anonymous.headers.get("vary")).toBe("Authorization");

    const retitled = unique("Renamed ");
    await env.DB.prepare("UPDATE vouchers SET title = ? WHERE id = ?").bind(retitled, voucher.id).run();
    now += (CACHE_SECONDS - 1) * 1000;
    expect((await call(path)).body.title).toBe(voucher.title);

    const user = await createUser();
    const signedIn = await call(path, { token: user.token });
    expect(signedIn.body.title).toBe(retitled);
    expect(signedIn.headers.get("cache-control")).toBe("no-store");
    expect(signedIn.headers.get("etag")).toBeNull();

    now += 2000;
    expect((await call(path)).body.title).toBe(retitled);
  });

  it("a voucher deactivated through this isolate leaves the cached public pages at once", async () => {
    const merchant = await insertMerchant();
    const voucher = await insertVoucher(merchant, { title: unique("Soon Gone ") });
    const path = `/api/v1/public-vouchers/${voucher.id}/`;
    expect((await call(path)).status).toBe(200);
    const off = await call(`/api/v1/vouchers/${voucher.id}/`, { method: "DELETE", token: merchant.user.token });
    expect(off.status).toBeLessThan(300);
    expect((await call(path)).status).toBe(404);
  });
});
