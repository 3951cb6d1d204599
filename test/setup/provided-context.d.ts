// Values test/setup/global-setup.ts hands to tests through `inject()`.
declare module "vitest" {
  export interface ProvidedContext {
    redisBridgeUrl: string;
  }
}
export {};
