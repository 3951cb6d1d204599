// Values test/setup/global-setup.ts hands to tests through `inject()`.
declare module "vitest" {
  export interface ProvidedContext {
    redisBridgeUrl: string;
    /** Starts a dedicated Redis bridge with a fault switch: see test/faults/README.md. */
    faultBridgeFactoryUrl: string;
  }
}
export {};
