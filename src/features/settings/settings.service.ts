import { eq, inArray, sql } from "drizzle-orm";
import { createDb } from "../../db/client";
import { siteSettings } from "../../db/schema";
import type { Env } from "../../env";
import { parseAmount, toPoints } from "../../lib/money";
import { cached } from "../../lib/read-cache";
import { nowIso } from "../../lib/time";

export const SETTING_KEYS = ["voucher_cost", "advertisement_cost", "advertisement_extension_cost_per_day"] as const;
export type SettingKey = (typeof SETTING_KEYS)[number];

/** Used only if a row is missing (a database created before the defaults were seeded). */
const DEFAULTS: Record<SettingKey, number> = { voucher_cost: 1000, advertisement_cost: 1000, advertisement_extension_cost_per_day: 100 };

/**
 * Advertisement lengths, in whole days: the creation fee covers `advertisement_included_days`, and
 * no ad runs longer than `advertisement_max_days` (the database's length guard reads it too).
 */
export const DAY_SETTING_KEYS = ["advertisement_included_days", "advertisement_max_days"] as const;
export type DaySettingKey = (typeof DAY_SETTING_KEYS)[number];
export const DAY_LIMITS: Record<DaySettingKey, { min: number; max: number; fallback: number }> = {
  advertisement_included_days: { min: 0, max: 3650, fallback: 30 },
  advertisement_max_days: { min: 1, max: 3650, fallback: 366 },
};

/** A setting's stored value, from the per-isolate read cache (an admin's change here is seen at once). */
function storedSetting(env: Pick<Env, "DB" | "READ_CACHE_SECONDS">, key: string): Promise<string | undefined> {
  return cached(env, `setting:${key}`, ["site_settings"], async () =>
    (await createDb(env.DB).query.siteSettings.findFirst({ where: eq(siteSettings.key, key), columns: { value: true } }))?.value,
  );
}

export async function getDays(env: Pick<Env, "DB" | "READ_CACHE_SECONDS">, key: DaySettingKey): Promise<number> {
  return daysOf(key, await storedSetting(env, key));
}

function daysOf(key: DaySettingKey, stored: string | undefined) {
  const value = Number(stored);
  const { min, max, fallback } = DAY_LIMITS[key];
  return Number.isSafeInteger(value) && value >= min && value <= max ? value : fallback;
}

/** A cost in minor units; stored as text so the table can hold other kinds of settings later. */
export async function getCost(env: Pick<Env, "DB" | "READ_CACHE_SECONDS">, key: SettingKey): Promise<number> {
  const value = Number(await storedSetting(env, key));
  return Number.isSafeInteger(value) && value >= 0 ? value : DEFAULTS[key];
}

/**
 * The same cost as a SQL expression, for queries that read it in their own round trip. `key` is
 * one of SETTING_KEYS and the default a number, so nothing from a request enters the SQL text.
 */
export const costSettingSql = (key: SettingKey) =>
  `COALESCE((SELECT CAST(value AS INTEGER) FROM site_settings WHERE key = '${key}'), ${DEFAULTS[key]})`;

export async function readSettings(env: Pick<Env, "DB">) {
  const rows = await createDb(env.DB)
    .select()
    .from(siteSettings)
    .where(inArray(siteSettings.key, [...SETTING_KEYS, ...DAY_SETTING_KEYS]));
  const byKey = new Map(rows.map((r) => [r.key, r]));
  const out = {} as Record<SettingKey, number>;
  let updatedAt: string | null = null;
  for (const key of SETTING_KEYS) {
    const row = byKey.get(key);
    const value = Number(row?.value);
    out[key] = toPoints(Number.isSafeInteger(value) ? value : DEFAULTS[key]);
    if (row && (!updatedAt || row.updatedAt > updatedAt)) updatedAt = row.updatedAt;
  }
  const days = {} as Record<DaySettingKey, number>;
  for (const key of DAY_SETTING_KEYS) {
    const row = byKey.get(key);
    days[key] = daysOf(key, row?.value);
    if (row && (!updatedAt || row.updatedAt > updatedAt)) updatedAt = row.updatedAt;
  }
  return { ...out, ...days, updated_at: updatedAt };
}

/** Costs arrive in points ("10.00" or 10.0) and are stored in minor units; day counts as whole days. */
export async function updateSettings(
  env: Pick<Env, "DB">,
  patch: Partial<Record<SettingKey, string | number>> & Partial<Record<DaySettingKey, number>>,
) {
  const now = nowIso();
  const db = createDb(env.DB);
  const upsert = (key: string, value: string) =>
    db
      .insert(siteSettings)
      .values({ key, value, updatedAt: now })
      .onConflictDoUpdate({ target: siteSettings.key, set: { value: sql`excluded.value`, updatedAt: sql`excluded.updated_at` } });
  const [first, ...rest] = [
    ...SETTING_KEYS.filter((key) => patch[key] !== undefined).map((key) => upsert(key, String(parseAmount(patch[key]!, key)))),
    ...DAY_SETTING_KEYS.filter((key) => patch[key] !== undefined).map((key) => upsert(key, String(patch[key]))),
  ];
  if (first) await db.batch([first, ...rest]);
  return readSettings(env);
}
