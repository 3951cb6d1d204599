import { createHash, randomBytes } from "node:crypto";
import type { Locator } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLocalWorker } from "../../scripts/lib/local-worker.mjs";
import { accessibilityViolations, isolatedContext } from "./browser";
import { merchantWithVoucher, PASSWORD, purchase } from "./till-fixtures";

// A deployment that requires an X-API-Key on every call: the till asks for its key and sends it.
let worker: Awaited<ReturnType<typeof startLocalWorker>>;
let base: string;
let key: string;
let shop: Awaited<ReturnType<typeof merchantWithVoucher>>;

beforeAll(async () => {
  worker = await startLocalWorker({ bindings: { REQUIRE_API_KEY: "true" } });
  base = worker.url;
  // Stored as an admin's POST /admin/api-keys stores it: only the SHA-256 of the key.
  key = `pk_${randomBytes(24).toString("base64url")}`;
  const db = await worker.mf.getD1Database("DB");
  await db
    .prepare("INSERT INTO api_keys (name, prefix, key_hash, created_at) VALUES ('front till', ?, ?, ?)")
    .bind(key.slice(0, 10), createHash("sha256").update(key).digest("hex"), new Date().toISOString())
    .run();
  shop = await merchantWithVoucher(base, { uses: 2, apiKey: key });
}, 120_000);

afterAll(() => worker?.stop());

const text = (locator: Locator) => expect.poll(async () => ((await locator.count()) ? locator.first().textContent() : null), { timeout: 10_000 });

describe("the till on a server that requires an API key", () => {
  it("says a key is needed, refuses a wrong one, then signs in and redeems with the right one, which it keeps", async () => {
    const bought = await purchase(base, shop.voucherId, { first_name: "Lena", last_name: "Ng" }, key);
    const { context, foreignRequests } = await isolatedContext({ worker: base });
    const page = await context.newPage();
    const sentKeys: (string | undefined)[] = [];
    page.on("request", (request) => request.url().includes("/api/") && sentKeys.push(request.headers()["x-api-key"]));

    await page.goto(`${base}/till`);
    await page.getByLabel("Username").fill(shop.username);
    await page.getByLabel("Password").fill(PASSWORD);
    await page.getByRole("button", { name: "Sign in" }).click();
    await text(page.getByRole("alert")).toBe("This server needs a till key. Ask your operator for one and enter it under “Till key”.");
    // The field is shown, not hidden behind the summary, and the form stays accessible with it open.
    await expect.poll(() => page.getByLabel("Till key (only if your operator gave you one)").isVisible()).toBe(true);
    expect(await accessibilityViolations(page)).toEqual([]);

    await page.getByLabel("Till key (only if your operator gave you one)").fill("pk_not-the-key");
    await page.getByRole("button", { name: "Sign in" }).click();
    await text(page.getByRole("alert")).toBe("The till key is not valid (it may have been revoked). Ask your operator for a new one and enter it under “Till key”.");

    await page.getByLabel("Till key (only if your operator gave you one)").fill(key);
    await page.getByRole("button", { name: "Sign in" }).click();
    await text(page.getByText(`Signed in as ${shop.username}`)).toBe(`Signed in as ${shop.username}`);
    await page.getByLabel("Or type the code").fill(bought.reference);
    await page.getByRole("button", { name: "Look up" }).click();
    await text(page.locator("#verdict")).toBe("Can be redeemed.");
    await text(page.locator("#r-holder")).toBe("Lena Ng");
    await page.getByRole("button", { name: "Redeem" }).click();
    await text(page.locator("#today-count")).toBe("(1)");
    expect(sentKeys.at(-1)).toBe(key);

    // The key stays on this device: a new tab of the same browser has it filled in.
    const again = await context.newPage();
    await again.goto(`${base}/till`);
    await expect.poll(() => again.getByLabel("Till key (only if your operator gave you one)").inputValue()).toBe(key);
    expect(foreignRequests).toEqual([]);
    await context.close();
  });
});
