// src/env.ts declares the worker's bindings by hand; wrangler.toml is what the runtime hands over.
// This keeps the two (and README's Configuration table, which says what is a var and what is a
// secret) from drifting. wrangler.toml is read by wrangler's own reader, as deploy reads it; it
// reads no .dev.vars or .env file, so a clean clone checks the same as a developer's machine.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";
import { unstable_readConfig } from "wrangler";

const ROOT = join(import.meta.dirname, "..", "..");

export interface EnvMember {
  type: string;
  optional: boolean;
}

/** The members of `interface Env` in a source text, with their declared type as written. */
export function envMembers(source: string): Map<string, EnvMember> {
  const file = ts.createSourceFile("env.ts", source, ts.ScriptTarget.Latest, true);
  const env = file.statements.find((s): s is ts.InterfaceDeclaration => ts.isInterfaceDeclaration(s) && s.name.text === "Env");
  if (!env) throw new Error("no `interface Env` in src/env.ts");
  const members = new Map<string, EnvMember>();
  for (const member of env.members) {
    if (!ts.isPropertySignature(member) || !member.type) throw new Error(`Env: ${member.getText(file)} is not a plain property`);
    members.set(member.name.getText(file), { type: member.type.getText(file).replace(/\s+/g, " "), optional: member.questionToken !== undefined });
  }
  return members;
}

export interface Binding {
  name: string;
  /** Where wrangler.toml declares it. */
  section: string;
  /** The type src/env.ts must give it. */
  type: RegExp;
}

/** The parts of wrangler's normalised config this check reads (wrangler fills in empty defaults). */
interface Config {
  d1_databases: { binding: string }[];
  kv_namespaces: { binding: string }[];
  r2_buckets: { binding: string }[];
  durable_objects: { bindings: { name: string; class_name: string }[] };
  queues: { producers?: { binding: string }[] };
  ratelimits: { name: string }[];
  services?: { binding: string }[];
  assets?: { binding?: string };
  vars: Record<string, unknown>;
  unsafe?: { bindings?: unknown[] };
}

/** Sections that declare bindings this check does not compare yet: any of them in use fails it. */
const NOT_COMPARED = [
  "analytics_engine_datasets",
  "hyperdrive",
  "vectorize",
  "ai",
  "browser",
  "images",
  "media",
  "send_email",
  "workflows",
  "secrets_store_secrets",
  "version_metadata",
  "dispatch_namespaces",
  "mtls_certificates",
  "pipelines",
  "worker_loaders",
  "vpc_services",
  "wasm_modules",
  "text_blobs",
  "data_blobs",
] as const;

const inUse = (value: unknown) =>
  value !== undefined && value !== null && !(Array.isArray(value) && value.length === 0) && !(typeof value === "object" && Object.keys(value as object).length === 0);

/** Every binding a wrangler config declares, with the type the Env interface must give it. */
export function configBindings(config: Config): Binding[] {
  const exact = (type: string) => new RegExp(`^${type}$`);
  const bindings: Binding[] = [
    ...config.d1_databases.map((d) => ({ name: d.binding, section: "d1_databases", type: exact("D1Database") })),
    ...config.kv_namespaces.map((k) => ({ name: k.binding, section: "kv_namespaces", type: /^KVNamespace(<.+>)?$/ })),
    ...config.r2_buckets.map((r) => ({ name: r.binding, section: "r2_buckets", type: exact("R2Bucket") })),
    ...config.durable_objects.bindings.map((d) => ({
      name: d.name,
      section: "durable_objects.bindings",
      type: new RegExp(`^DurableObjectNamespace<${d.class_name}>$`),
    })),
    ...(config.queues.producers ?? []).map((q) => ({ name: q.binding, section: "queues.producers", type: /^Queue(<.+>)?$/ })),
    ...config.ratelimits.map((r) => ({ name: r.name, section: "ratelimits", type: exact("RateLimit") })),
    ...(config.services ?? []).map((s) => ({ name: s.binding, section: "services", type: /^(Fetcher|Service)(<.+>)?$/ })),
    ...(config.assets?.binding ? [{ name: config.assets.binding, section: "assets", type: exact("Fetcher") }] : []),
    ...Object.keys(config.vars).map((name) => ({ name, section: "vars", type: exact("string") })),
  ];
  const unsafe = config.unsafe?.bindings ?? [];
  const others = [...NOT_COMPARED.filter((section) => inUse((config as unknown as Record<string, unknown>)[section])), ...(unsafe.length > 0 ? ["unsafe.bindings"] : [])];
  if (others.length > 0) throw new Error(`wrangler.toml declares bindings this check does not compare yet: ${others.join(", ")}; add them to configBindings()`);
  return bindings;
}

/** Names README's Configuration table gives as `secret` (set with `wrangler secret put`, never in [vars]). */
export function documentedSecrets(readme: string): Set<string> {
  const secrets = new Set<string>();
  for (const row of readme.split("\n")) {
    const cells = row.split("|").map((c) => c.trim());
    if (cells[2] === "secret") for (const [, name] of cells[1]!.matchAll(/`([A-Z][A-Z0-9_]*)`/g)) secrets.add(name!);
  }
  return secrets;
}

/** Every way the bindings, the Env interface and the documented secrets disagree; empty when they agree. */
export function disagreements(bindings: Binding[], env: Map<string, EnvMember>, secrets: Set<string>): string[] {
  const found: string[] = [];
  const declared = new Map<string, Binding>();
  for (const binding of bindings) {
    const twice = declared.get(binding.name);
    if (twice) found.push(`${binding.name}: declared twice in wrangler.toml (${twice.section} and ${binding.section})`);
    declared.set(binding.name, binding);
    const member = env.get(binding.name);
    if (!member) found.push(`${binding.name}: in wrangler.toml (${binding.section}) but not in the Env interface of src/env.ts`);
    else if (!binding.type.test(member.type)) found.push(`${binding.name}: src/env.ts types it ${member.type}; wrangler.toml's ${binding.section} needs ${binding.type.source}`);
  }
  for (const [name, member] of env) {
    if (declared.has(name)) continue;
    if (member.type !== "string") found.push(`${name}: a ${member.type} in src/env.ts that wrangler.toml does not bind`);
    else if (!secrets.has(name)) found.push(`${name}: in src/env.ts but neither a [vars] entry of wrangler.toml nor a secret in README's Configuration table`);
  }
  for (const name of secrets) {
    if (declared.get(name)?.section === "vars") found.push(`${name}: README calls it a secret, but wrangler.toml has it in [vars]`);
    else if (!env.has(name)) found.push(`${name}: README lists it as a secret, but src/env.ts does not declare it`);
  }
  return found;
}

const config = unstable_readConfig({ config: join(ROOT, "wrangler.toml") }, { hideWarnings: true }) as unknown as Config;
const envSource = readFileSync(join(ROOT, "src", "env.ts"), "utf8");
const readme = readFileSync(join(ROOT, "README.md"), "utf8");

describe("wrangler.toml and the Env interface agree", () => {
  it("every binding and var of wrangler.toml is in Env with its type, and every Env member is bound, a var or a documented secret", () => {
    const bindings = configBindings(config);
    // The sections this worker uses are all read (a reader that saw nothing would agree with anything).
    expect(new Set(bindings.map((b) => b.section))).toEqual(
      new Set(["d1_databases", "r2_buckets", "durable_objects.bindings", "queues.producers", "ratelimits", "assets", "vars"]),
    );
    expect(disagreements(bindings, envMembers(envSource), documentedSecrets(readme))).toEqual([]);
  });

  it("finds a binding missing on either side, a wrong type, an undeclared var and a misfiled secret", () => {
    // A small worker of its own, so this proves the check whatever the real files say today.
    const fixture: Config = {
      d1_databases: [{ binding: "DB" }],
      kv_namespaces: [{ binding: "CACHE" }],
      r2_buckets: [{ binding: "FILES" }],
      durable_objects: { bindings: [{ name: "COUNTER", class_name: "CounterObject" }] },
      queues: { producers: [{ binding: "JOBS" }] },
      ratelimits: [{ name: "LIMITER" }],
      services: [{ binding: "AUTH" }],
      assets: { binding: "ASSETS" },
      vars: { MODE: "production" },
    };
    const source = `export interface Env {
      DB: D1Database; CACHE: KVNamespace; FILES: R2Bucket; COUNTER: DurableObjectNamespace<CounterObject>;
      JOBS: Queue<{ id: string }>; LIMITER?: RateLimit; AUTH: Fetcher; ASSETS?: Fetcher; MODE: string; API_SECRET?: string;
    }`;
    const docs = "| name | kind |\n|---|---|\n| `MODE` | var | production |\n| `API_SECRET` | secret | — |";
    const bindings = configBindings(fixture);
    const env = envMembers(source);
    const secrets = documentedSecrets(docs);
    expect(secrets).toEqual(new Set(["API_SECRET"]));
    expect(disagreements(bindings, env, secrets)).toEqual([]);

    expect(disagreements(configBindings({ ...fixture, r2_buckets: [] }), env, secrets)).toEqual(["FILES: a R2Bucket in src/env.ts that wrangler.toml does not bind"]);
    expect(disagreements(bindings, envMembers(source.replace("JOBS: Queue<{ id: string }>;", "")), secrets)).toEqual([
      "JOBS: in wrangler.toml (queues.producers) but not in the Env interface of src/env.ts",
    ]);
    expect(disagreements(bindings, envMembers(source.replace("<CounterObject>", "<OtherObject>")), secrets)).toEqual([
      "COUNTER: src/env.ts types it DurableObjectNamespace<OtherObject>; wrangler.toml's durable_objects.bindings needs ^DurableObjectNamespace<CounterObject>$",
    ]);
    expect(disagreements(bindings, envMembers(source.replace("LIMITER?: RateLimit;", "LIMITER?: string;")), secrets)).toEqual([
      "LIMITER: src/env.ts types it string; wrangler.toml's ratelimits needs ^RateLimit$",
    ]);
    expect(disagreements(configBindings({ ...fixture, vars: {} }), env, secrets)).toEqual([
      "MODE: in src/env.ts but neither a [vars] entry of wrangler.toml nor a secret in README's Configuration table",
    ]);
    expect(disagreements(configBindings({ ...fixture, vars: { MODE: "x", API_SECRET: "oops" } }), env, secrets)).toEqual([
      "API_SECRET: README calls it a secret, but wrangler.toml has it in [vars]",
    ]);
    expect(disagreements(bindings, env, new Set([...secrets, "GONE_SECRET"]))).toEqual(["GONE_SECRET: README lists it as a secret, but src/env.ts does not declare it"]);
  });

  it("refuses a binding section it does not compare, rather than passing it by", () => {
    const withHyperdrive = { ...config, hyperdrive: [{ binding: "HYPERDRIVE", id: "x" }] } as Config;
    expect(() => configBindings(withHyperdrive)).toThrow(/hyperdrive/);
  });
});
