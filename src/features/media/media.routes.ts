import { createRoute } from "@hono/zod-openapi";
import { createRouter, errorResponses } from "../../lib/openapi";
import { notFound } from "../../lib/errors";
import { IMAGE_CACHE_CONTROL } from "./images";
import { ImageBinary, MediaParam } from "./media.schemas";

export const mediaRouter = createRouter();

mediaRouter.openapi(
  createRoute({
    method: "get",
    path: "/{folder}/{file}",
    tags: ["Media"],
    summary: "An uploaded image (public; names are random and never reused, so it is cached for a year)",
    request: { params: MediaParam },
    responses: {
      200: { description: "The image", content: { "image/*": { schema: ImageBinary } } },
      ...errorResponses(400, 404),
    },
  }),
  async (c) => {
    const { folder, file } = c.req.valid("param");
    const object = await c.env.MEDIA.get(`${folder}/${file}`);
    if (!object) throw notFound("Image");
    const etag = object.httpEtag;
    if (c.req.header("if-none-match") === etag) {
      await object.body.cancel();
      return c.body(null, 304, { ETag: etag, "Cache-Control": IMAGE_CACHE_CONTROL });
    }
    const headers = new Headers();
    object.writeHttpMetadata(headers);
    headers.set("ETag", etag);
    headers.set("Cache-Control", IMAGE_CACHE_CONTROL);
    headers.set("X-Content-Type-Options", "nosniff");
    return new Response(object.body, { status: 200, headers }) as never;
  },
);
