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
  /** Tests only: serve `POST /__fault {"mode":"up"|"down"|"hang"}` (loopback only). */
  faults?: boolean;
}): Promise<UpstashBridge>;
export function encodeResult(reply: unknown, base64: boolean, top?: boolean): unknown;
