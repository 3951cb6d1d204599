import { createExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { api } from "../../helpers/api";
import { createUser, unique } from "../../helpers/factories";
import { createMerchantViaApi, createVoucherViaApi, purchaseViaApi } from "../../helpers/marketplace-api";
import { roundTripDb } from "../../helpers/worker-env";
import worker from "../../../src/index";

const SPEC_ITEM_FIELDS = ["id", "title", "message", "merchant_name", "voucher_type_name", "voucher_value", "purchase_cost", "is_purchased", "can_purchase"];

describe("GET /public-vouchers/", () => {
  it("lists vouchers on sale with the spec's fields, at both path forms, without a token", async () => {
    const merchant = await createMerchantViaApi({ businessName: unique("Coffee Shop ") });
    const voucher = await createVoucherViaApi(merchant, { title: "50% Off Coffee" });
    for (const path of [`/api/voucher/public-vouchers/?merchant=${merchant.merchantId}`, `/api/v1/public-vouchers?merchant=${merchant.merchantId}`]) {
      const res = await api("GET", path);
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ count: 1, next: null, previous: null });
      const item = res.body.results[0];
      for (const field of SPEC_ITEM_FIELDS) expect(item).toHaveProperty(field);
      expect(item).toMatchObject({
        id: voucher.id,
        title: "50% Off Coffee",
        message: "Get 50% off on any coffee",
        merchant_name: merchant.businessName,
        voucher_type_name: "percentage",
        voucher_value: "50% off (min bill: ₹100)",
        purchase_cost: "10 points",
        is_purchased: false,
        can_purchase: true,
      });
    }
    const one = await api("GET", `/api/voucher/public-vouchers/${voucher.id}/`);
    expect(one.body.id).toBe(voucher.id);
  });

  it("leaves out inactive, expired and not-yet-valid vouchers", async () => {
    const merchant = await createMerchantViaApi();
    const listed = await createVoucherViaApi(merchant);
    await createVoucherViaApi(merchant, { is_active: false });
    await createVoucherViaApi(merchant, { valid_from: new Date(Date.now() + 86_400_000).toISOString() });
    const expired = await createVoucherViaApi(merchant);
    await env.DB.prepare("UPDATE vouchers SET valid_until = ? WHERE id = ?").bind(new Date(Date.now() - 1000).toISOString(), expired.id).run();
    const res = await api("GET", `/api/v1/public-vouchers/?merchant=${merchant.merchantId}`);
    expect(res.body.results.map((v: any) => v.id)).toEqual([listed.id]);
    expect((await api("GET", `/api/v1/public-vouchers/${expired.id}`)).status).toBe(404);
  });

  it("filters by category, merchant, voucher type and gift card", async () => {
    const admin = await createUser({ role: "admin" });
    const category = (await api("POST", "/api/v1/categories/", { token: admin.token, body: { name: unique("Cat ") } })).body.id;
    const m1 = await createMerchantViaApi();
    const m2 = await createMerchantViaApi();
    const inCategory = await createVoucherViaApi(m1, { category });
    const flat = await createVoucherViaApi(m1, { voucher_type: 2, percentage_value: undefined, percentage_min_bill: undefined, flat_amount: "30" });
    const gift = await createVoucherViaApi(m2, { is_gift_card: true, category });

    const ids = async (query: string) => (await api("GET", `/api/v1/public-vouchers/?${query}`)).body.results.map((v: any) => v.id).sort();
    expect(await ids(`category=${category}`)).toEqual([inCategory.id, gift.id].sort());
    expect(await ids(`merchant=${m1.merchantId}`)).toEqual([inCategory.id, flat.id].sort());
    expect(await ids(`merchant=${m1.merchantId}&voucher_type=2`)).toEqual([flat.id]);
    expect(await ids(`merchant=${m1.merchantId}&voucher_type=flat`)).toEqual([flat.id]);
    expect(await ids(`category=${category}&is_gift_card=true`)).toEqual([gift.id]);
    expect((await api("GET", "/api/v1/public-vouchers/?voucher_type=9")).status).toBe(400);
  });

  it("searches title, message and merchant name, with LIKE wildcards taken literally", async () => {
    const tag = unique("zq");
    const merchant = await createMerchantViaApi({ businessName: `Bistro ${tag}` });
    const byTitle = await createVoucherViaApi(merchant, { title: `Latte ${tag}x` });
    const other = await createMerchantViaApi();
    const byMessage = await createVoucherViaApi(other, { message: `cold brew ${tag}y here` });
    const percent = await createVoucherViaApi(other, { title: `100%_${tag} off` });
    await createVoucherViaApi(other, { title: `1000 ${tag} off` });

    const search = async (q: string) =>
      (await api("GET", `/api/v1/public-vouchers/?search=${encodeURIComponent(q)}`)).body.results.map((v: any) => v.id).sort();
    expect(await search(`${tag}x`)).toEqual([byTitle.id]);
    expect(await search(`${tag}y`)).toEqual([byMessage.id]);
    expect(await search(`Bistro ${tag}`)).toEqual([byTitle.id]);
    expect(await search(`%_${tag}`)).toEqual([percent.id]);
    expect(await search(`BISTRO ${tag.toUpperCase()}`)).toEqual([byTitle.id]);
  });

  it("paginates with count, next and previous", async () => {
    const merchant = await createMerchantViaApi();
    const made = [];
    for (let i = 0; i < 5; i++) made.push((await createVoucherViaApi(merchant)).id);
    const base = `/api/v1/public-vouchers/?merchant=${merchant.merchantId}&page_size=2`;
    const first = await api("GET", base);
    expect(first.body.count).toBe(5);
    expect(first.body.results).toHaveLength(2);
    expect(first.body.previous).toBeNull();
    const nextUrl = new URL(first.body.next);
    expect(nextUrl.searchParams.get("page")).toBe("2");
    const third = await api("GET", `${base}&page=3`);
    expect(third.body.results).toHaveLength(1);
    expect(third.body.next).toBeNull();
    expect(third.body.previous).toContain("page=2");
    const second = await api("GET", nextUrl.pathname + nextUrl.search);
    const seen = [...first.body.results, ...second.body.results, ...third.body.results].map((v: any) => v.id);
    expect(seen.sort()).toEqual(made.sort());
    expect((await api("GET", `${base}&page_size=1000`)).status).toBe(400);
  });

  it("a browse or search page is read in the listing index's order and stops when full, never sorted", async () => {
    const merchant = await createMerchantViaApi();
    await createVoucherViaApi(merchant, { title: "Coffee for the plan" });
    for (const query of ["", "?search=coffee", "?page=2&page_size=5"]) {
      const { db, trips } = roundTripDb();
      // The read cache off, so the request reads D1.
      const response = await worker.fetch(
        new Request(`http://localhost/api/v1/public-vouchers/${query}`) as Request<unknown, IncomingRequestCfProperties>,
        { ...env, DB: db, READ_CACHE_SECONDS: "0" } as never,
        createExecutionContext(),
      );
      expect(response.status).toBe(200);
      const page = trips.flatMap((t) => t.sql).find((sql) => sql.includes("ORDER BY v.is_featured DESC"));
      expect(page, query).toBeDefined();
      // The planner's choice does not depend on the values; every parameter is bound to NULL.
      const parameters = Math.max(...[...page!.matchAll(/\?(\d+)/g)].map((m) => Number(m[1])));
      const { results } = await env.DB.prepare(`EXPLAIN QUERY PLAN ${page}`)
        .bind(...Array.from({ length: parameters }, () => null))
        .all<{ detail: string }>();
      const plan = results.map((r) => r.detail);
      expect(plan.some((step) => /^SEARCH v USING INDEX vouchers_listing_idx/.test(step)), plan.join("; ")).toBe(true);
      expect(plan.some((step) => step.includes("TEMP B-TREE")), plan.join("; ")).toBe(false);
    }
  });

  it("is_purchased and can_purchase describe the signed-in caller", async () => {
    const merchant = await createMerchantViaApi();
    const voucher = await createVoucherViaApi(merchant, { count: 2 });
    const buyer = await createUser({ balance: 1_500 });
    const poor = await createUser({ balance: 500 });
    const view = async (token?: string) => (await api("GET", `/api/v1/public-vouchers/?merchant=${merchant.merchantId}`, { token })).body.results[0];

    expect(await view(buyer.token)).toMatchObject({ is_purchased: false, can_purchase: true });
    expect(await view(poor.token)).toMatchObject({ is_purchased: false, can_purchase: false });
    expect((await purchaseViaApi(buyer.token, voucher.id)).status).toBe(201);
    // 500 left: bought it, cannot afford another.
    expect(await view(buyer.token)).toMatchObject({ is_purchased: true, can_purchase: false });
    const rich = await createUser({ balance: 5_000 });
    expect((await purchaseViaApi(rich.token, voucher.id)).status).toBe(201);
    expect(await view()).toMatchObject({ is_purchased: false, can_purchase: false });
    expect(await view(rich.token)).toMatchObject({ is_purchased: true, can_purchase: false });
  });
});

describe("featured and trending", () => {
  it("answer in the spec's shapes; trending counts purchases of the last 7 days", async () => {
    const merchant = await createMerchantViaApi();
    const hot = await createVoucherViaApi(merchant);
    const cold = await createVoucherViaApi(merchant);
    const buyers = await Promise.all([1, 2, 3].map(() => createUser({ balance: 10_000 })));
    for (const b of buyers) expect((await purchaseViaApi(b.token, hot.id)).status).toBe(201);
    const old = await purchaseViaApi(buyers[0]!.token, cold.id);
    await env.DB.prepare("UPDATE voucher_redemptions SET purchased_at = ? WHERE id = ?").bind(new Date(Date.now() - 8 * 86_400_000).toISOString(), old.body.redemption_id).run();

    const trending = await api("GET", "/api/voucher/public-vouchers/trending/");
    expect(trending.status).toBe(200);
    expect(trending.body).toMatchObject({ period: "Last 7 days", message: "Trending vouchers based on recent purchase activity" });
    expect(trending.body.total_count).toBe(trending.body.trending_vouchers.length);
    const hotEntry = trending.body.trending_vouchers.find((v: any) => v.id === hot.id);
    expect(hotEntry).toMatchObject({ recent_purchases: 3, purchase_cost: "10 points" });
    expect(trending.body.trending_vouchers.map((v: any) => v.id)).not.toContain(cold.id);

    const featured = await api("GET", "/api/v1/public-vouchers/featured/");
    const featuredAlias = await api("GET", "/api/voucher/public-vouchers/featured");
    expect(featuredAlias.body.featured_vouchers.map((v: any) => v.id)).toEqual(featured.body.featured_vouchers.map((v: any) => v.id));
    expect(featured.body.message).toBe("Featured vouchers based on popularity");
    expect(featured.body.total_count).toBe(featured.body.featured_vouchers.length);
    const scores = featured.body.featured_vouchers.map((v: any) => v.popularity_score);
    expect(scores).toEqual([...scores].sort((a: number, b: number) => b - a));
    expect(featured.body.featured_vouchers[0]).toMatchObject({ id: hot.id, popularity_score: 6 });
  });
});
