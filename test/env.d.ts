import type { D1Migration } from "cloudflare:test";
import type { Env as AppEnv } from "../src/env";

// Merges into the global Cloudflare.Env that `cloudflare:workers` exposes to tests.
declare global {
  namespace Cloudflare {
    interface Env extends AppEnv {
      TEST_MIGRATIONS: D1Migration[];
      TEST_BRIDGE_PORT: string;
    }
    interface GlobalProps {
      mainModule: typeof import("../src/index");
      durableNamespaces: "WalletDurableObject";
    }
  }
}
