// client/perks-api.d.ts is what `npm run client:generate` makes of the served document today.
import { readFileSync } from "node:fs";
import { describe, expect, inject, it } from "vitest";
import { CLIENT_TYPES, clientTypes } from "../../scripts/client-generate.mjs";

describe("the typed client is in sync with the API", () => {
  it("matches the types generated from /api/openapi.json (run `npm run client:generate` after changing routes)", async () => {
    const document = await (await fetch(`${inject("workerUrl")}/api/openapi.json`)).json();
    const fresh = await clientTypes(document);
    expect(readFileSync(CLIENT_TYPES, "utf8") === fresh, "client/perks-api.d.ts is out of date: run `npm run client:generate`").toBe(true);
  });
});
