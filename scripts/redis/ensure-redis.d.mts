export interface LocalRedis {
  host: string;
  port: number;
  started: boolean;
  stop(): Promise<void>;
}
export function ensureRedis(options?: { preferPort?: number; log?: (line: string) => void }): Promise<LocalRedis | null>;
export function findRedisServerBinary(): string | null;
export function freePort(host?: string): Promise<number>;
