// The typed client of this API: openapi-fetch over the types generated from the OpenAPI document
// (perks-api.d.ts, kept in sync by a test). Paths, parameters, bodies and answers are checked by
// TypeScript:
//
//   const perks = createPerksClient("http://localhost:8787");
//   const { data } = await perks.POST("/api/v1/auth/login", { body: { username, password } });
//   perks.use(bearer(data!.access));
//   const { data: account } = await perks.GET("/api/v1/account");
import createClient, { type Middleware } from "openapi-fetch";
import type { paths } from "./perks-api";

export type { components, operations, paths } from "./perks-api";

export function createPerksClient(baseUrl: string, options: { fetch?: typeof fetch; headers?: Record<string, string> } = {}) {
  return createClient<paths>({ baseUrl: baseUrl.replace(/\/$/, ""), ...options });
}

/** Sends `Authorization: Bearer <token>` on every request of the client it is added to. */
export function bearer(token: string): Middleware {
  return {
    onRequest({ request }) {
      request.headers.set("Authorization", `Bearer ${token}`);
      return request;
    },
  };
}
