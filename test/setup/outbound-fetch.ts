import { env } from "cloudflare:workers";
import { afterEach, expect } from "vitest";
import { outbound } from "../helpers/outbound";

/**
 * Nothing in a test reaches the internet. Every outbound fetch goes through `outbound`: the local
 * Redis bridge passes through; anything else must match a mock a test registered, and an
 * unmocked request fails the test that made it.
 */
const realFetch = globalThis.fetch.bind(globalThis);
const bridgeOrigin = `http://127.0.0.1:${env.TEST_BRIDGE_PORT}`;

globalThis.fetch = async (input: RequestInfo | URL, init?: RequestInit) => {
  const request = new Request(input, init);
  if (request.url.startsWith(bridgeOrigin) || request.url.startsWith("http://127.0.0.1:1/")) return realFetch(request);
  return outbound.handle(request);
};

afterEach(() => {
  const unmocked = outbound.takeUnmocked();
  outbound.reset();
  expect(unmocked, "outbound requests without a mock").toEqual([]);
});
