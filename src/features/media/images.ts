import type { Env } from "../../env";
import { ApiError, ErrorCode } from "../../lib/errors";
import { uuid } from "../../lib/ids";

export const MAX_IMAGE_BYTES = 2 * 1024 * 1024;

/** Stored names are random and never reused, so an image may be cached for a year. */
export const IMAGE_CACHE_CONTROL = "public, max-age=31536000, immutable";

/** The folders the media route serves (`GET /api/v1/media/{folder}/{file}`). */
export const MEDIA_FOLDERS = ["vouchers", "advertisements"] as const;
export type MediaFolder = (typeof MEDIA_FOLDERS)[number];

const SIGNATURES: { ext: string; type: string; test: (b: Uint8Array) => boolean }[] = [
  { ext: "jpg", type: "image/jpeg", test: (b) => b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff },
  { ext: "png", type: "image/png", test: (b) => [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a].every((v, i) => b[i] === v) },
  { ext: "gif", type: "image/gif", test: (b) => ascii(b, 0, 6) === "GIF87a" || ascii(b, 0, 6) === "GIF89a" },
  { ext: "webp", type: "image/webp", test: (b) => ascii(b, 0, 4) === "RIFF" && ascii(b, 8, 12) === "WEBP" },
];

function ascii(bytes: Uint8Array, from: number, to: number) {
  return String.fromCharCode(...bytes.subarray(from, to));
}

/** The type is decided by the file's magic bytes, never by its name or the client's Content-Type. */
export function detectImage(bytes: Uint8Array): { ext: string; type: string } | null {
  const match = SIGNATURES.find((s) => s.test(bytes));
  return match ? { ext: match.ext, type: match.type } : null;
}

/** An uploaded image checked (size, and type by its first bytes) but not yet stored. */
export interface CheckedImage {
  bytes: Uint8Array;
  ext: string;
  type: string;
}

/**
 * Validates an upload without writing anything, so a refused request leaves nothing in R2: read
 * it before the other checks, store it (`storeImage`) only once everything that can refuse has run.
 */
export async function readImage(file: File, field: string): Promise<CheckedImage> {
  if (file.size > MAX_IMAGE_BYTES) throw new ApiError(413, ErrorCode.PAYLOAD_TOO_LARGE, `${field} must be at most 2 MB.`);
  const bytes = new Uint8Array(await file.arrayBuffer());
  const image = detectImage(bytes);
  if (!image) throw new ApiError(415, ErrorCode.UNSUPPORTED_MEDIA_TYPE, `${field} must be a JPEG, PNG, WebP or GIF image.`);
  return { bytes, ext: image.ext, type: image.type };
}

/**
 * Stores a checked image in R2 under `<folder>/<uuid>.<ext>` with its type and a year of caching;
 * returns the key. The caller deletes it again if the write that references it fails.
 */
export async function storeImage(env: Pick<Env, "MEDIA">, folder: MediaFolder, image: CheckedImage): Promise<string> {
  const key = `${folder}/${uuid()}.${image.ext}`;
  await env.MEDIA.put(key, image.bytes, { httpMetadata: { contentType: image.type, cacheControl: IMAGE_CACHE_CONTROL } });
  return key;
}

/** Absolute URL of a stored object under the public base (see publicBaseUrl). */
export function mediaUrl(baseUrl: string, key: string | null): string | null {
  return key ? `${baseUrl}/api/v1/media/${key}` : null;
}
