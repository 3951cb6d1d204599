export interface UpstashBridge {
  url: string;
  port: number;
  token: string;
  close(): Promise<void>;
}
export function startUpstashBridge(options: {
  redisHost?: string;
  redisPort?: number;
  host?: string;
  port?: number;
  token: string;
  poolSize?: number;
}): Promise<UpstashBridge>;
export function encodeResult(reply: unknown, base64: boolean, top?: boolean): unknown;
