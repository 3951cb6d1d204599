import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Locator, Page } from "playwright-core";
import { beforeAll, describe, expect, it } from "vitest";
import { withinOneRateWindow } from "../helpers/rate-window";
import { accessibilityViolations, isolatedContext, workerUrl } from "./browser";
import { writeQrVideo } from "./fake-camera";
import { client, merchantWithVoucher, PASSWORD, purchase, register } from "./till-fixtures";

// Screenshots and the generated camera video land here (gitignored), for a person to look at.
const OUTPUT = fileURLToPath(new URL("./output/", import.meta.url));
const PHONE = { width: 390, height: 844 };
const DESKTOP = { width: 1280, height: 900 };

let base: string;
let shop: Awaited<ReturnType<typeof merchantWithVoucher>>;
beforeAll(async () => {
  mkdirSync(OUTPUT, { recursive: true });
  base = workerUrl();
  shop = await merchantWithVoucher(base, { uses: 3 });
});

async function signIn(page: Page, username: string, password = PASSWORD) {
  await page.goto(`${base}/till`);
  // Keyboard only: the form is reachable and submits with Enter.
  await page.getByLabel("Username").focus();
  await page.keyboard.type(username);
  await page.keyboard.press("Tab");
  await expect.poll(() => page.evaluate(() => document.activeElement?.id)).toBe("password");
  await page.keyboard.type(password);
  await page.keyboard.press("Enter");
}

async function lookUp(page: Page, code: string) {
  await page.getByLabel("Or type the code").fill(code);
  await page.getByRole("button", { name: "Look up" }).click();
}

const notice = (page: Page) => page.getByRole("alert");
// playwright-core has no test matchers: poll the page until the expectation holds (or times out).
const text = (locator: Locator) => expect.poll(async () => ((await locator.count()) ? locator.first().textContent() : null), { timeout: 10_000 });
const shown = (locator: Locator) => expect.poll(() => locator.isVisible(), { timeout: 10_000 }).toBe(true);
const hidden = (locator: Locator) => expect.poll(() => locator.isVisible(), { timeout: 10_000 }).toBe(false);

describe("the till page", () => {
  it("is served by the worker at /till, with a strict CSP and no framing", async () => {
    const res = await fetch(`${base}/till/`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/html");
    expect(res.headers.get("content-security-policy")).toContain("default-src 'self'");
    expect(res.headers.get("content-security-policy")).toContain("frame-ancestors 'none'");
    const redirect = await fetch(`${base}/till`, { redirect: "manual" });
    expect([200, 307, 308]).toContain(redirect.status);
  });

  it("signs in, looks a typed reference up, redeems two uses at a location and lists them today (phone and desktop)", async () => {
    const bought = await purchase(base, shop.voucherId);
    const { context, foreignRequests } = await isolatedContext({ viewport: PHONE });
    const page = await context.newPage();

    await signIn(page, shop.username, "not-the-password");
    await text(notice(page)).toBe("Wrong username or password.");
    await page.getByLabel("Password").fill(PASSWORD);
    await page.getByRole("button", { name: "Sign in" }).click();
    await shown(page.getByText(`Signed in as ${shop.username}`));

    await lookUp(page, bought.reference.toLowerCase());
    await text(page.locator("#verdict")).toBe("Can be redeemed.");
    await text(page.locator("#r-title")).toBe(shop.voucherTitle);
    await text(page.locator("#r-holder")).toBe("Asha Rao");
    await text(page.locator("#r-remaining")).toBe("3");

    await page.getByLabel("Quantity").fill("2");
    await page.getByLabel("Location").fill("Front till");
    await page.getByRole("button", { name: "Redeem" }).click();
    await text(notice(page)).toBe(`Redeemed 2 × ${shop.voucherTitle} for Asha Rao. 1 use(s) left.`);
    await text(page.locator("#r-remaining")).toBe("1");
    const row = page.locator("#today tbody tr").first();
    await text(row).toContain(shop.voucherTitle);
    await text(row).toContain("Front till");
    await text(row.locator("td").nth(3)).toBe("2");
    await shown(page.getByRole("heading", { name: /Today at Front till \(1\)/ }));
    await page.screenshot({ path: join(OUTPUT, "till-phone.png"), fullPage: true });

    // The same session on a wide screen: the list is there after a reload.
    await page.setViewportSize(DESKTOP);
    await page.reload();
    await expect.poll(() => page.locator("#today tbody tr").count()).toBe(1);
    await lookUp(page, bought.reference);
    await text(page.locator("#r-remaining")).toBe("1");
    await page.screenshot({ path: join(OUTPUT, "till-desktop.png"), fullPage: true });

    expect(foreignRequests).toEqual([]);
    await context.close();
  });

  it("passes axe's WCAG 2 AA checks signed out, with a redeemable voucher, a refused one and a refusal notice", async () => {
    const bought = await purchase(base, shop.voucherId);
    const usedUp = await purchase(base, shop.voucherId);
    await client(base)("POST", "/merchant/scan/redeem", { token: shop.token, body: { redemption_id: usedUp.redemptionId, quantity: 3 } });
    const { context } = await isolatedContext({ viewport: PHONE });
    const page = await context.newPage();
    await page.goto(`${base}/till`);
    expect(await accessibilityViolations(page)).toEqual([]);
    await signIn(page, shop.username);
    await lookUp(page, bought.reference);
    await text(page.locator("#verdict")).toBe("Can be redeemed.");
    expect(await accessibilityViolations(page)).toEqual([]);
    await lookUp(page, usedUp.reference);
    await text(page.locator("#verdict")).toContain("Cannot be redeemed");
    expect(await accessibilityViolations(page)).toEqual([]);
    await lookUp(page, "VCH-NOSUCH00");
    await text(notice(page)).toContain("Voucher not found");
    expect(await accessibilityViolations(page)).toEqual([]);
    await page.setViewportSize(DESKTOP);
    expect(await accessibilityViolations(page)).toEqual([]);
    await context.close();
  });

  it("says clearly why it refuses: another business, used up, unknown code, signed out, not a merchant", async () => {
    const other = await merchantWithVoucher(base, { title: "Someone Else's Muffin", uses: 1 });
    const theirs = await purchase(base, other.voucherId);
    const usedUp = await purchase(base, shop.voucherId);
    await client(base)("POST", "/merchant/scan/redeem", { token: shop.token, body: { redemption_id: usedUp.redemptionId, quantity: 3 } });

    const { context } = await isolatedContext({ viewport: PHONE });
    const page = await context.newPage();
    await signIn(page, shop.username);
    await shown(page.getByText(`Signed in as ${shop.username}`));

    await lookUp(page, theirs.reference);
    await text(notice(page)).toBe("Access denied. You can only scan vouchers from your own business.");
    await hidden(page.locator("#result"));

    await lookUp(page, usedUp.reference);
    await text(page.locator("#verdict")).toBe("Cannot be redeemed: This voucher has no redemptions left.");
    await expect.poll(() => page.getByRole("button", { name: "Redeem" }).isDisabled()).toBe(true);

    await lookUp(page, "VCH-NOSUCH00");
    await text(notice(page)).toContain("Voucher not found or invalid QR code");

    // Signed out under the page's feet (the stored tokens expired and were revoked): back to the sign-in form.
    await page.evaluate(() => sessionStorage.setItem("perks-till-session", JSON.stringify({ access: "expired", refresh: "revoked", username: "x" })));
    await page.reload();
    await text(notice(page)).toBe("You were signed out (your session ended). Please sign in again.");
    await shown(page.getByRole("heading", { name: "Sign in to the till" }));

    // A customer account cannot open the till.
    const customer = await register(base, "till_shopper");
    await signIn(page, customer.username);
    await text(notice(page)).toBe("This account has no active merchant business, so it cannot use the till.");
    await shown(page.getByRole("heading", { name: "Sign in to the till" }));
    await context.close();
  });

  it("tells the merchant to wait when the scan limit is reached", async () => {
    const busy = await merchantWithVoucher(base, { title: "Busy Bagel" });
    const bought = await purchase(base, busy.voucherId);
    const call = client(base);
    const { context } = await isolatedContext({ viewport: PHONE });
    const page = await context.newPage();
    await signIn(page, busy.username);
    await shown(page.getByText(`Signed in as ${busy.username}`));

    // The scan limit counts only failed lookups, per merchant, in clock-aligned minutes: use it up
    // with unknown codes from another device of the same merchant, early enough in a minute that the
    // till's own scan falls in the same one. Then even the customer's real code is refused.
    await withinOneRateWindow(60, 20_000);
    const results = await Promise.allSettled(Array.from({ length: 130 }, (_, i) => call("POST", "/merchant/scan/scan", { token: busy.token, body: { qr_data: `VCH-NOSUCH${String(i).padStart(3, "0")}` } })));
    expect(results.some((r) => r.status === "rejected" && String(r.reason).includes(" 429 "))).toBe(true);
    await lookUp(page, bought.reference);
    await text(notice(page)).toBe("Too many requests from this till. Wait 60 seconds, then try again.");
    await context.close();
  });

  it("scans a real purchase's QR code through the camera", async () => {
    const bought = await purchase(base, shop.voucherId, { first_name: "Ravi", last_name: "Kumar" });
    // The customer's screen shows the QR code of the purchase reference (as the QR endpoints draw it).
    expect(bought.qr.purchase_reference).toBe(bought.reference);
    const video = join(OUTPUT, "qr-camera.y4m");
    writeQrVideo(video, bought.qr.purchase_reference);

    const { context, foreignRequests } = await isolatedContext({
      viewport: PHONE,
      permissions: ["camera"],
      launchArgs: ["--use-fake-device-for-media-stream", `--use-file-for-fake-video-capture=${video}`],
    });
    const page = await context.newPage();
    const fetched: string[] = [];
    page.on("request", (request) => fetched.push(new URL(request.url()).pathname));
    await signIn(page, shop.username);
    await shown(page.getByText(`Signed in as ${shop.username}`));
    const native = await page.evaluate(() => "BarcodeDetector" in globalThis);

    await page.getByRole("button", { name: "Scan with the camera" }).click();
    await expect.poll(() => page.getByLabel("Or type the code").inputValue(), { timeout: 20_000 }).toBe(bought.reference);
    await text(page.locator("#verdict")).toBe("Can be redeemed.");
    await text(page.locator("#r-holder")).toBe("Ravi Kumar");
    // The camera stops once a code is read.
    await shown(page.getByRole("button", { name: "Scan with the camera" }));
    // Without a native detector, the WebAssembly reader came from this worker, not a CDN.
    if (!native) expect(fetched).toContain("/vendor/zxing-wasm/zxing_reader.wasm");
    await page.screenshot({ path: join(OUTPUT, "till-camera-phone.png"), fullPage: true });
    expect(foreignRequests).toEqual([]);
    await context.close();
  });
});
