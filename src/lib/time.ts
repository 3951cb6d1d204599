/** All times are ISO 8601 UTC strings; SQLite compares them correctly as text. */
export const nowIso = (): string => new Date().toISOString();

export const addDays = (iso: string | Date, days: number): string =>
  new Date(new Date(iso).getTime() + days * 86_400_000).toISOString();

export const addSeconds = (iso: string | Date, seconds: number): string =>
  new Date(new Date(iso).getTime() + seconds * 1000).toISOString();
