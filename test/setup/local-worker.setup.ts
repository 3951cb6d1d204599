// Vitest globalSetup of the Node-side suites: one local worker for all of them; its URL reaches
// the tests through `inject("workerUrl")`.
import { startLocalWorker } from "../../scripts/lib/local-worker.mjs";

export default async function setup({ provide }: { provide: (key: "workerUrl", value: string) => void }) {
  // With the demo data, so the demo's flows can run against it (the contract test does).
  const worker = await startLocalWorker({ seed: true });
  provide("workerUrl", worker.url);
  return () => worker.stop();
}
