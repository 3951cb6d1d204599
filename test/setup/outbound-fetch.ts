import { afterEach, expect } from "vitest";
import { outbound } from "../helpers/outbound";

/**
 * Nothing in a test reaches the internet. Every outbound fetch goes through `outbound`: loopback
 * (the local Redis bridges, the fault-bridge control server) passes through; anything else must match a mock a test registered, and an
 * unmocked request fails the test that made it.
 */
const realFetch = globalThis.fetch.bind(globalThis);
globalThis.fetch = async (input: RequestInfo | URL, init?: RequestInit) => {
  const request = new Request(input, init);
  if (request.url.startsWith("http://127.0.0.1:")) return realFetch(request);
  return outbound.handle(request);
};

afterEach(() => {
  const unmocked = outbound.takeUnmocked();
  outbound.reset();
  expect(unmocked, "outbound requests without a mock").toEqual([]);
});
