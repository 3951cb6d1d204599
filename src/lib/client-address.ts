/**
 * The key a client's address is counted under. In production Cloudflare sets `cf-connecting-ip`
 * (a client cannot forge it through the edge); locally any client can send it. An IPv6 client
 * controls at least a /64, so IPv6 is counted per /64: otherwise every address is a fresh bucket.
 */
export function clientAddressKey(header: string | undefined | null): string {
  const raw = (header ?? "").trim();
  if (!raw) return "unknown";
  const v6 = ipv6Prefix64(raw);
  return v6 ?? raw.slice(0, 64);
}

/** The first four groups of a valid IPv6 address, fully expanded ("2001:db8:0:1::/64"), or null. */
export function ipv6Prefix64(address: string): string | null {
  const text = address.toLowerCase().replace(/^\[|\]$/g, "").split("%")[0]!;
  if (!text.includes(":") || !/^[0-9a-f:.]+$/.test(text)) return null;
  const halves = text.split("::");
  if (halves.length > 2) return null;
  const parse = (part: string) => (part ? part.split(":") : []);
  let head = parse(halves[0]!);
  let tail = halves.length === 2 ? parse(halves[1]!) : [];
  // An embedded IPv4 tail (::ffff:192.0.2.1) takes two groups.
  const last = (tail.length ? tail : head).at(-1);
  if (last?.includes(".")) {
    if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(last)) return null;
    const ints = last.split(".").map(Number);
    if (ints.some((n) => n > 255)) return null;
    const groups = [((ints[0]! << 8) | ints[1]!).toString(16), ((ints[2]! << 8) | ints[3]!).toString(16)];
    if (tail.length) tail = [...tail.slice(0, -1), ...groups];
    else head = [...head.slice(0, -1), ...groups];
  }
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return null;
  const groups = [...head, ...Array(halves.length === 2 ? missing : 0).fill("0"), ...tail];
  if (groups.length !== 8 || groups.some((g) => !/^[0-9a-f]{1,4}$/.test(g))) return null;
  return `${groups.slice(0, 4).map((g) => g.replace(/^0+(?=.)/, "")).join(":")}::/64`;
}
