import { z } from "@hono/zod-openapi";

/** Stored names are random UUIDs with the type found in the file's bytes; nothing else is served. */
export const MediaParam = z.object({
  folder: z.enum(["vouchers", "advertisements"]),
  file: z.string().regex(/^[0-9a-f-]{36}\.(jpg|png|webp|gif)$/, "is not a media file name"),
});
