// The demo's plain-JavaScript modules, as the Node-side tests use them.
declare module "*/scripts/demo/client.mjs" {
  type Result = { status: number; body: any; headers: Headers };
  export function createClient(baseUrl: string, options?: { onResponse?: (method: string, path: string, result: Result) => void }): (...args: any[]) => Promise<Result>;
  export function createSteps(): { step: (...args: any[]) => Promise<boolean>; section: (title: string) => void; tally: { passed: number; failed: number; skipped: number } };
}
declare module "*/scripts/demo/flows.mjs" {
  type Flow = (ctx: any) => Promise<void>;
  export const health: Flow, auth: Flow, offers: Flow, vouchers: Flow, giftCards: Flow, advertisements: Flow, customersOrders: Flow, notifications: Flow, healthAgain: Flow;
}
declare module "*/scripts/client-generate.mjs" {
  export const CLIENT_TYPES: string;
  export function clientTypes(document: unknown): Promise<string>;
}
