/**
 * Rate-limit windows are aligned to the wall clock (miniflare: epoch = floor(now / period)), so a
 * test that counts up to a limit must not straddle a window boundary or its count resets midway.
 * This waits, when needed, until the current window has at least `needMs` left.
 */
export async function withinOneRateWindow(periodSeconds = 60, needMs = 15_000): Promise<void> {
  const periodMs = periodSeconds * 1000;
  const left = periodMs - (Date.now() % periodMs);
  if (left < needMs) await new Promise((resolve) => setTimeout(resolve, left + 50));
}
