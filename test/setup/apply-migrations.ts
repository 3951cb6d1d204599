import { applyD1Migrations } from "cloudflare:test";
import { env } from "cloudflare:workers";

// Storage is isolated per test file; migrations already applied in this file's storage are skipped.
await applyD1Migrations(env.DB, env.TEST_MIGRATIONS);
