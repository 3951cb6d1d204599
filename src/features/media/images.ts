import type { Env } from "../../env";
import { ApiError, ErrorCode } from "../../lib/errors";

export const MAX_IMAGE_BYTES = 2 * 1024 * 1024;

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

/** Checks and stores an uploaded image in R2 under `<folder>/<uuid>.<ext>`; returns the key. */
export async function storeImage(env: Pick<Env, "MEDIA">, folder: string, file: File, field = "image"): Promise<string> {
  if (file.size > MAX_IMAGE_BYTES) throw new ApiError(413, ErrorCode.PAYLOAD_TOO_LARGE, `${field} must be at most 2 MB.`);
  const bytes = new Uint8Array(await file.arrayBuffer());
  const image = detectImage(bytes);
  if (!image) throw new ApiError(415, ErrorCode.UNSUPPORTED_MEDIA_TYPE, `${field} must be a JPEG, PNG, WebP or GIF image.`);
  const key = `${folder}/${crypto.randomUUID()}.${image.ext}`;
  await env.MEDIA.put(key, bytes, { httpMetadata: { contentType: image.type, cacheControl: "public, max-age=31536000, immutable" } });
  return key;
}

/** Absolute URL of a stored object under the public base (see publicBaseUrl). */
export function mediaUrl(baseUrl: string, key: string | null): string | null {
  return key ? `${baseUrl}/api/v1/media/${key}` : null;
}
