export const ROOT: string;
export const PUBLIC_DIR: string;
export const PAGES_DIR: string;
export const VENDORED: { pkg: string; from?: string; file: string; to: string }[];
export function buildAssets(options?: { log?: (line: string) => void }): Record<string, string>;
