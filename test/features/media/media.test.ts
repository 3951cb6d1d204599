import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { api, BASE, isCleanError } from "../../helpers/api";

const PNG = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3]);
const get = (path: string, headers: Record<string, string> = {}) => exports.default.fetch(new Request(`${BASE}${path}`, { headers }));

async function stored(folder: "vouchers" | "advertisements") {
  const name = `${crypto.randomUUID()}.png`;
  await env.MEDIA.put(`${folder}/${name}`, PNG, { httpMetadata: { contentType: "image/png" } });
  return `/api/v1/media/${folder}/${name}`;
}

describe("media", () => {
  it("serves a stored image publicly with its type, a year of caching and nosniff, at both path forms", async () => {
    for (const folder of ["vouchers", "advertisements"] as const) {
      const path = await stored(folder);
      const res = await get(path);
      expect(res.status).toBe(200);
      expect(new Uint8Array(await res.arrayBuffer())).toEqual(PNG);
      expect(res.headers.get("content-type")).toBe("image/png");
      expect(res.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
      expect(res.headers.get("x-content-type-options")).toBe("nosniff");
      const alias = await get(path.replace("/api/v1/", "/api/voucher/"));
      expect(alias.status).toBe(200);
      await alias.arrayBuffer();
    }
  });

  it("answers 304 to a matching If-None-Match and the image to a stale one", async () => {
    const path = await stored("vouchers");
    const first = await get(path);
    await first.arrayBuffer();
    const etag = first.headers.get("etag")!;
    expect(etag).toBeTruthy();
    const cached = await get(path, { "if-none-match": etag });
    expect(cached.status).toBe(304);
    expect(cached.headers.get("etag")).toBe(etag);
    const stale = await get(path, { "if-none-match": '"not-this-one"' });
    expect(stale.status).toBe(200);
    await stale.arrayBuffer();
  });

  it("a missing image is a 404 and a name outside the media pattern a 400, both in the error shape", async () => {
    const missing = await api("GET", `/api/v1/media/vouchers/${crypto.randomUUID()}.png`);
    expect([missing.status, missing.body.code]).toEqual([404, "NOT_FOUND"]);
    expect(isCleanError(missing.body)).toBe(true);
    for (const path of ["/api/v1/media/vouchers/..%2F..%2Fsecret.png", "/api/v1/media/other/" + crypto.randomUUID() + ".png", "/api/v1/media/vouchers/x.svg"]) {
      const res = await api("GET", path);
      expect([path, res.status, res.body.code]).toEqual([path, 400, "VALIDATION_ERROR"]);
      expect(isCleanError(res.body)).toBe(true);
    }
  });
});
