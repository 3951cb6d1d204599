import { describe, expect, it } from "vitest";
import { timingSafeEqual } from "../../src/lib/crypto";

describe("timingSafeEqual (the runtime's constant-time compare)", () => {
  it("is true only for identical values", () => {
    expect(timingSafeEqual("sha256=abcdef", "sha256=abcdef")).toBe(true);
    expect(timingSafeEqual("sha256=abcdef", "sha256=abcdeg")).toBe(false);
    expect(timingSafeEqual(new Uint8Array([1, 2, 3]), new Uint8Array([1, 2, 3]))).toBe(true);
    expect(timingSafeEqual(new Uint8Array([1, 2, 3]), new Uint8Array([1, 2, 4]))).toBe(false);
  });

  it("answers false for different lengths instead of throwing", () => {
    expect(timingSafeEqual("sha256=abc", "sha256=abcdef")).toBe(false);
    expect(timingSafeEqual("", "x")).toBe(false);
  });
});
