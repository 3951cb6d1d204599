import { env } from "cloudflare:workers";
import { asc, eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { createDb } from "../../src/db/client";
import { categories, offers } from "../../src/db/schema";
import { prebuiltSelect } from "../../src/lib/prebuilt-select";
import { makeOffer } from "../helpers/offer-factories";
import { unique } from "../helpers/factories";

describe("prebuiltSelect", () => {
  it("answers the rows drizzle's own select answers, decoded the same way (booleans, enums, nulls)", async () => {
    await makeOffer({ isActive: false, sandboxOutcome: "fail" });
    await makeOffer({ price: 1250 });
    const active = prebuiltSelect(offers, (q) => q.where(eq(offers.isActive, true)).orderBy(asc(offers.id)));
    const all = prebuiltSelect(offers, (q) => q.orderBy(asc(offers.id)));
    const db = createDb(env.DB);

    const mine = await all(env.DB);
    expect(mine).toEqual(await db.select().from(offers).orderBy(asc(offers.id)));
    expect(mine.some((row) => row.isActive === false && row.sandboxOutcome === "fail")).toBe(true);
    expect(await active(env.DB)).toEqual(await db.select().from(offers).where(eq(offers.isActive, true)).orderBy(asc(offers.id)));
    expect((await active(env.DB)).every((row) => row.isActive === true)).toBe(true);
  });

  it("binds the values it was built with on every call, and sees rows written after it was built", async () => {
    const named = prebuiltSelect(categories, (q) => q.where(eq(categories.isActive, false)).orderBy(asc(categories.name)));
    const before = await named(env.DB);
    const name = unique("category");
    await env.DB.prepare("INSERT INTO categories (name, description, is_active, created_at) VALUES (?, '', 0, ?)").bind(name, new Date().toISOString()).run();
    const after = await named(env.DB);
    expect(after).toHaveLength(before.length + 1);
    expect(after.find((row) => row.name === name)).toMatchObject({ name, description: "", isActive: false });
  });
});
