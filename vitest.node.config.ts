// The Node-side suites, run by `npm test` after the workerd suite: what cannot run inside workerd
// (a real browser, the OpenAPI linters, checks of the repository's files). The global setup starts
// the worker once (deploy bundle, assets, migrations, Redis) and hands its URL to the tests.
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/node/**/*.test.ts", "test/browser/**/*.test.ts"],
    globalSetup: ["./test/setup/local-worker.setup.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // One worker process and one browser at a time: the machine is small and shared.
    fileParallelism: false,
  },
});
