import { env } from "cloudflare:workers";

/**
 * Counts every D1 round trip made while `run` runs, by anyone in this isolate: the request, and the
 * wallet's Durable Object (which runs here in tests, with a binding of its own that no test can
 * swap). A round trip is a statement's first/all/run/raw or a batch, on the binding or a session.
 * Counting patches the D1 classes' prototypes for the duration, so run nothing else meanwhile.
 */
export async function countD1RoundTrips<T>(run: () => Promise<T>): Promise<{ result: T; trips: string[][] }> {
  const trips: string[][] = [];
  const sqlOf = new WeakMap<object, string>();
  const session = env.DB.withSession("first-unconstrained");
  const statement = env.DB.prepare("SELECT 1");
  const patches: [object, string][] = [
    [Object.getPrototypeOf(env.DB), "prepare"],
    [Object.getPrototypeOf(env.DB), "batch"],
    [Object.getPrototypeOf(session), "prepare"],
    [Object.getPrototypeOf(session), "batch"],
    [Object.getPrototypeOf(statement), "bind"],
    ...["first", "all", "run", "raw"].map((name): [object, string] => [Object.getPrototypeOf(statement), name]),
  ];
  const originals = patches.map(([proto, name]) => (proto as Record<string, Function>)[name]!);
  // A D1 method may call another one inside (a batch of the binding through its session): only the outermost call is a trip.
  let depth = 0;
  patches.forEach(([proto, name], i) => {
    const original = originals[i]!;
    (proto as Record<string, Function>)[name] = function (this: object, ...args: unknown[]) {
      if (name === "prepare" || name === "bind") {
        const made = original.apply(this, args);
        sqlOf.set(made, name === "prepare" ? String(args[0]) : (sqlOf.get(this) ?? "?"));
        return made;
      }
      if (depth === 0) trips.push(name === "batch" ? (args[0] as object[]).map((s) => sqlOf.get(s) ?? "?") : [sqlOf.get(this) ?? "?"]);
      depth++;
      try {
        return original.apply(this, args);
      } finally {
        depth--;
      }
    };
  });
  try {
    return { result: await run(), trips };
  } finally {
    patches.forEach(([proto, name], i) => ((proto as Record<string, Function>)[name] = originals[i]!));
  }
}
