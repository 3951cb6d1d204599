import { z } from "@hono/zod-openapi";

export const MAX_PAGE_SIZE = 100;
export const DEFAULT_PAGE_SIZE = 20;

export const PaginationQuery = z.object({
  page: z.coerce.number().int().min(1).default(1).openapi({ example: 1 }),
  page_size: z.coerce.number().int().min(1).max(MAX_PAGE_SIZE).default(DEFAULT_PAGE_SIZE).openapi({ example: 20 }),
});
export type Pagination = z.infer<typeof PaginationQuery>;

export function pageWindow({ page, page_size }: Pagination) {
  return { limit: page_size, offset: (page - 1) * page_size };
}

/** Django-REST-style page: `{count, next, previous, results}` with absolute links. */
export function paginated<T>(requestUrl: string, { page, page_size }: Pagination, count: number, results: T[]) {
  const link = (target: number) => {
    const url = new URL(requestUrl);
    url.searchParams.set("page", String(target));
    url.searchParams.set("page_size", String(page_size));
    return url.toString();
  };
  return {
    count,
    next: page * page_size < count ? link(page + 1) : null,
    previous: page > 1 ? link(page - 1) : null,
    results,
  };
}

/** OpenAPI schema for a paginated list of `item`. */
export function PaginatedSchema<T extends z.ZodTypeAny>(item: T) {
  return z.object({
    count: z.number().int(),
    next: z.string().nullable(),
    previous: z.string().nullable(),
    results: z.array(item),
  });
}
