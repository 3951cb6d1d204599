import type { Hono } from "hono";

/**
 * The methods an app answers on a path, so an existing path called with the wrong method gets
 * 405 with `Allow` instead of a 404 that says the path does not exist. Built once per isolate
 * from the app's own route table (middleware, registered for ALL methods, is left out).
 */
export function allowedMethodsOf(app: Pick<Hono, "routes">) {
  let table: { pattern: RegExp; method: string }[] | undefined;
  return (path: string): string[] => {
    table ??= app.routes.filter((r) => r.method !== "ALL").map((r) => ({ pattern: toRegExp(r.path), method: r.method }));
    const normalized = path.length > 1 ? path.replace(/\/+$/, "") : path;
    const methods = new Set(table.filter((r) => r.pattern.test(normalized)).map((r) => r.method));
    if (methods.has("GET")) methods.add("HEAD");
    return [...methods].sort();
  };
}

/** `/a/:id{[0-9]+}/b` and `/a/*` as anchored expressions. */
function toRegExp(path: string): RegExp {
  const trimmed = path.length > 1 ? path.replace(/\/+$/, "") : path;
  const source = trimmed
    .split("/")
    .map((segment) => {
      if (segment === "*") return ".*";
      const param = /^:[A-Za-z0-9_]+(?:\{(.+)\})?(\?)?$/.exec(segment);
      if (param) return `(?:${param[1] ?? "[^/]+"})`;
      return segment.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    })
    .join("/");
  return new RegExp(`^${source}$`);
}
