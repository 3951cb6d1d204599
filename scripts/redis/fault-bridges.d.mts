export function startFaultBridgeFactory(options: { redisHost: string; redisPort: number; token: string }): Promise<{ url: string; close(): Promise<void> }>;
