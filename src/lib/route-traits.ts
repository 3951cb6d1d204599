/**
 * What a middleware means for the API's contract (it needs a token, it limits the rate, ...),
 * attached to the middleware function itself so the OpenAPI document can be derived from the
 * middleware a route really runs instead of being restated in every route declaration.
 */
export type RouteTrait = "role" | "rate-limit" | "probe-auth";

const traits = new WeakMap<object, RouteTrait>();

/** Marks a middleware made by a factory (each call returns a new function). */
export function withTrait<T extends object>(trait: RouteTrait, middleware: T): T {
  traits.set(middleware, trait);
  return middleware;
}

export const traitOf = (middleware: unknown): RouteTrait | undefined =>
  typeof middleware === "function" ? traits.get(middleware) : undefined;
