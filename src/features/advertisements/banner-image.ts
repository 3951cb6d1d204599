import type { Env } from "../../env";
import { ApiError, ErrorCode } from "../../lib/errors";
import { uuid } from "../../lib/ids";

export const BANNER_FOLDER = "advertisements";
export const MAX_BANNER_BYTES = 2 * 1024 * 1024;

const SIGNATURES: { ext: string; type: string; test: (b: Uint8Array) => boolean }[] = [
  { ext: "png", type: "image/png", test: (b) => [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a].every((x, i) => b[i] === x) },
  { ext: "jpg", type: "image/jpeg", test: (b) => b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff },
  { ext: "gif", type: "image/gif", test: (b) => ascii(b, 0, 6) === "GIF87a" || ascii(b, 0, 6) === "GIF89a" },
  { ext: "webp", type: "image/webp", test: (b) => ascii(b, 0, 4) === "RIFF" && ascii(b, 8, 4) === "WEBP" },
];

function ascii(bytes: Uint8Array, start: number, length: number) {
  return String.fromCharCode(...bytes.subarray(start, start + length));
}

/** The type comes from the file's first bytes: a client's Content-Type or file name is not trusted. */
export function sniffImage(bytes: Uint8Array) {
  return SIGNATURES.find((s) => s.test(bytes)) ?? null;
}

/** A banner checked (size, and type by its first bytes) but not yet stored. */
export interface Banner {
  bytes: Uint8Array;
  ext: string;
  type: string;
}

/** Validates a banner without writing anything, so a refused request leaves nothing in R2. */
export async function readBanner(file: File): Promise<Banner> {
  if (file.size > MAX_BANNER_BYTES) throw new ApiError(413, ErrorCode.PAYLOAD_TOO_LARGE, "banner_image must be at most 2 MB.");
  const bytes = new Uint8Array(await file.arrayBuffer());
  const kind = sniffImage(bytes);
  if (!kind) throw new ApiError(415, ErrorCode.UNSUPPORTED_MEDIA_TYPE, "banner_image must be a PNG, JPEG, GIF or WebP image.");
  return { bytes, ext: kind.ext, type: kind.type };
}

/**
 * Stores a checked banner in R2 under `advertisements/<uuid>.<ext>`, the folder the shared media
 * route (`GET /api/v1/media/{folder}/{file}`, src/features/media/media.routes.ts) serves.
 */
export async function storeBanner(env: Pick<Env, "MEDIA">, banner: Banner): Promise<string> {
  const key = `${BANNER_FOLDER}/${uuid()}.${banner.ext}`;
  await env.MEDIA.put(key, banner.bytes, { httpMetadata: { contentType: banner.type } });
  return key;
}

/** Public URL of a stored banner, served by the media route. */
export function bannerUrl(base: string, key: string | null) {
  return key ? `${base.replace(/\/$/, "")}/api/v1/media/${key}` : null;
}
