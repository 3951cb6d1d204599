import type { Env } from "../../env";
import { parseAmount, toPoints } from "../../lib/money";
import { nowIso } from "../../lib/time";

export const SETTING_KEYS = ["voucher_cost", "advertisement_cost", "advertisement_extension_cost_per_day"] as const;
export type SettingKey = (typeof SETTING_KEYS)[number];

/** Used only if a row is missing (a database created before the defaults were seeded). */
const DEFAULTS: Record<SettingKey, number> = { voucher_cost: 1000, advertisement_cost: 1000, advertisement_extension_cost_per_day: 100 };

/** A cost in minor units; stored as text so the table can hold other kinds of settings later. */
export async function getCost(env: Pick<Env, "DB">, key: SettingKey): Promise<number> {
  const row = await env.DB.prepare("SELECT value FROM site_settings WHERE key = ?").bind(key).first<{ value: string }>();
  const value = Number(row?.value);
  return Number.isSafeInteger(value) && value >= 0 ? value : DEFAULTS[key];
}

/**
 * The same cost as a SQL expression, for queries that read it in their own round trip. `key` is
 * one of SETTING_KEYS and the default a number, so nothing from a request enters the SQL text.
 */
export const costSettingSql = (key: SettingKey) =>
  `COALESCE((SELECT CAST(value AS INTEGER) FROM site_settings WHERE key = '${key}'), ${DEFAULTS[key]})`;

export async function readSettings(env: Pick<Env, "DB">) {
  const { results } = await env.DB.prepare(
    `SELECT key, value, updated_at FROM site_settings WHERE key IN (${SETTING_KEYS.map(() => "?").join(", ")})`,
  )
    .bind(...SETTING_KEYS)
    .all<{ key: SettingKey; value: string; updated_at: string }>();
  const byKey = new Map(results.map((r) => [r.key, r]));
  const out = {} as Record<SettingKey, number>;
  let updatedAt: string | null = null;
  for (const key of SETTING_KEYS) {
    const row = byKey.get(key);
    const value = Number(row?.value);
    out[key] = toPoints(Number.isSafeInteger(value) ? value : DEFAULTS[key]);
    if (row && (!updatedAt || row.updated_at > updatedAt)) updatedAt = row.updated_at;
  }
  return { ...out, updated_at: updatedAt };
}

/** Values arrive in points ("10.00" or 10.0) and are stored in minor units. */
export async function updateSettings(env: Pick<Env, "DB">, patch: Partial<Record<SettingKey, string | number>>) {
  const now = nowIso();
  const statements = SETTING_KEYS.filter((key) => patch[key] !== undefined).map((key) =>
    env.DB.prepare(
      "INSERT INTO site_settings (key, value, updated_at) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
    ).bind(key, String(parseAmount(patch[key]!, key)), now),
  );
  if (statements.length > 0) await env.DB.batch(statements);
  return readSettings(env);
}
