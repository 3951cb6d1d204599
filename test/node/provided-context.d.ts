// Values test/setup/local-worker.setup.ts hands to the Node-side tests through `inject()`.
declare module "vitest" {
  export interface ProvidedContext {
    workerUrl: string;
  }
}
export {};
