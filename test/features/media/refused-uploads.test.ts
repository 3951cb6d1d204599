// A refused or failed upload leaves nothing in R2: banners and voucher images are stored only once
// the caller, the target and the fields are known good, and deleted again if a later write fails.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { api, isCleanError } from "../../helpers/api";
import { createUser } from "../../helpers/factories";
import { insertMerchant, insertVoucher, dayString } from "../../helpers/voucher-factories";

const PNG = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 73, 72, 68, 82]);

async function objectCount() {
  let count = 0;
  let cursor: string | undefined;
  do {
    const page = await env.MEDIA.list({ cursor });
    count += page.objects.length;
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor);
  return count;
}

function multipart(fields: Record<string, unknown>, fileField: string) {
  const form = new FormData();
  for (const [k, v] of Object.entries(fields)) form.set(k, String(v));
  form.set(fileField, new File([PNG], "picture.png", { type: "image/png" }));
  return form;
}

/** Fault injection: a trigger that aborts the write of a row carrying `marker`. */
async function failWritesOf(table: "advertisements" | "vouchers", column: string, marker: string, event: "INSERT" | "UPDATE") {
  const name = `inject_fault_${table}_${event.toLowerCase()}`;
  await env.DB.prepare(`DROP TRIGGER IF EXISTS ${name}`).run();
  await env.DB.prepare(
    `CREATE TRIGGER ${name} BEFORE ${event} ON ${table} WHEN NEW.${column} = '${marker}' BEGIN SELECT RAISE(ABORT, 'injected_fault'); END`,
  ).run();
}

describe("advertisement banners", () => {
  it("a refused creation stores no banner: non-merchant, another's voucher, past or too long dates, inactive voucher, no funds", async () => {
    const owner = await insertMerchant({ balance: 100_000 });
    const voucher = await insertVoucher(owner);
    const inactive = await insertVoucher(owner, { active: false });
    const other = await insertMerchant({ balance: 100_000 });
    const poor = await insertMerchant({ balance: 0 });
    const poorVoucher = await insertVoucher(poor);
    const user = await createUser({ balance: 100_000 });
    const fields = (v: number, overrides: Record<string, unknown> = {}) => ({
      voucher: v,
      start_date: dayString(0),
      end_date: dayString(5),
      city: "Pune",
      state: "Maharashtra",
      ...overrides,
    });
    const before = await objectCount();
    for (const [token, body, status] of [
      [user.token, fields(voucher.id), 403],
      [other.user.token, fields(voucher.id), 404],
      [owner.user.token, fields(voucher.id, { start_date: dayString(-2) }), 400],
      [owner.user.token, fields(voucher.id, { end_date: dayString(400) }), 400],
      [owner.user.token, fields(inactive.id), 400],
      [poor.user.token, fields(poorVoucher.id), 400],
    ] as const) {
      const res = await api("POST", "/api/v1/advertisements/", { token, raw: multipart(body, "banner_image") });
      expect([JSON.stringify(body), res.status]).toEqual([JSON.stringify(body), status]);
    }
    expect(await objectCount()).toBe(before);

    const ok = await api("POST", "/api/v1/advertisements/", { token: owner.user.token, raw: multipart(fields(voucher.id), "banner_image") });
    expect(ok.status).toBe(201);
    expect(await objectCount()).toBe(before + 1);
  });

  it("a write that fails after the banner was stored deletes it again", async () => {
    const owner = await insertMerchant({ balance: 100_000 });
    const voucher = await insertVoucher(owner);
    await failWritesOf("advertisements", "city", "Faultville", "INSERT");
    const before = await objectCount();
    const res = await api("POST", "/api/v1/advertisements/", {
      token: owner.user.token,
      raw: multipart({ voucher: voucher.id, start_date: dayString(0), end_date: dayString(3), city: "Faultville", state: "MH" }, "banner_image"),
    });
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(isCleanError(res.body)).toBe(true);
    expect(await objectCount()).toBe(before);
  });
});

describe("voucher images", () => {
  const voucherFields = (title: string) => ({ title, voucher_type: 3, product_name: "Coffee" });

  it("a refused create or update stores no image", async () => {
    const owner = await insertMerchant();
    const other = await insertMerchant();
    const user = await createUser();
    const mine = await insertVoucher(owner);
    const before = await objectCount();
    const attempts = [
      ["POST", "/api/v1/vouchers/", user.token, voucherFields("Not a merchant"), 403],
      ["POST", "/api/v1/vouchers/", owner.user.token, { ...voucherFields("Bad type"), voucher_type: 1 }, 400],
      ["PATCH", `/api/v1/vouchers/${mine.id}/`, other.user.token, { title: "Not yours" }, 404],
      ["PATCH", `/api/v1/vouchers/${mine.id}/`, owner.user.token, { percentage_value: "10.00" }, 400],
    ] as const;
    for (const [method, path, token, body, status] of attempts) {
      const res = await api(method, path, { token, raw: multipart(body, "image") });
      expect([method, JSON.stringify(body), res.status]).toEqual([method, JSON.stringify(body), status]);
    }
    expect(await objectCount()).toBe(before);
  });

  it("a write that fails after the image was stored deletes it again; a replaced image is deleted on success", async () => {
    const owner = await insertMerchant();
    await failWritesOf("vouchers", "title", "Fault on insert", "INSERT");
    await failWritesOf("vouchers", "title", "Fault on update", "UPDATE");
    const before = await objectCount();
    const created = await api("POST", "/api/v1/vouchers/", { token: owner.user.token, raw: multipart(voucherFields("Fault on insert"), "image") });
    expect(created.status).toBe(500);
    expect(isCleanError(created.body)).toBe(true);
    expect(await objectCount()).toBe(before);

    const good = await api("POST", "/api/v1/vouchers/", { token: owner.user.token, raw: multipart(voucherFields("Good coffee"), "image") });
    expect(good.status).toBe(201);
    expect(await objectCount()).toBe(before + 1);
    const failed = await api("PATCH", `/api/v1/vouchers/${good.body.id}/`, { token: owner.user.token, raw: multipart({ title: "Fault on update" }, "image") });
    expect(failed.status).toBe(500);
    expect(await objectCount()).toBe(before + 1);
    const replaced = await api("PATCH", `/api/v1/vouchers/${good.body.id}/`, { token: owner.user.token, raw: multipart({ title: "Better coffee" }, "image") });
    expect(replaced.status).toBe(200);
    expect(replaced.body.image).not.toBe(good.body.image);
    expect(await objectCount()).toBe(before + 1);
  });
});
