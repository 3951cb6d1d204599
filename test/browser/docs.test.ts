import { describe, expect, it } from "vitest";
import { isolatedContext, workerUrl } from "./browser";

type Operation = { summary?: string; operationId?: string };

describe("interactive docs in Chromium, with no network beyond the API", () => {
  it("render every operation of the OpenAPI document and load nothing from another origin", async () => {
    const doc = (await (await fetch(`${workerUrl()}/api/openapi.json`)).json()) as { info: { title: string }; paths: Record<string, Record<string, Operation>> };
    const operations = Object.entries(doc.paths).flatMap(([path, item]) =>
      Object.entries(item).map(([method, op]) => ({ method, path, label: op.summary ?? path })),
    );
    expect(operations.length).toBeGreaterThan(50);

    const { context, foreignRequests } = await isolatedContext();
    const page = await context.newPage();
    const pageErrors: string[] = [];
    page.on("pageerror", (error) => pageErrors.push(error.message));
    await page.goto(`${workerUrl()}/api/docs`);
    // The reference is drawn by the script: wait until it has put the operations on the page.
    await page.getByRole("heading", { name: doc.info.title }).first().waitFor({ timeout: 30_000 });
    // Open every tag group of the sidebar, so each operation's entry is on the page.
    for (let round = 0; round < 5; round++) {
      const closed = page.locator("aside [aria-expanded='false'], nav [aria-expanded='false']");
      const count = await closed.count();
      if (count === 0) break;
      for (let i = count - 1; i >= 0; i--) await closed.nth(i).click();
    }
    const text = await page.evaluate(() => document.body.innerText);

    const missing = operations.filter((op) => !text.includes(op.label)).map((op) => `${op.method.toUpperCase()} ${op.path} (${op.label})`);
    expect(missing).toEqual([]);
    expect(pageErrors).toEqual([]);
    expect(foreignRequests).toEqual([]);
    await context.close();
  });
});
