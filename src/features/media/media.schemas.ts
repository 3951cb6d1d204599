import { z } from "@hono/zod-openapi";
import { MEDIA_FOLDERS } from "./images";

/** Stored names are random UUIDs with the type found in the file's bytes; nothing else is served. */
export const MediaParam = z.object({
  folder: z.enum(MEDIA_FOLDERS),
  file: z.string().regex(/^[0-9a-f-]{36}\.(jpg|png|webp|gif)$/, "is not a media file name"),
});

export const ImageBinary = z.string().openapi({ format: "binary" });
