/** What each group of operations in the docs is about, in a user's words. */
export const TAG_DESCRIPTIONS: Record<string, string> = {
  Health: "Whether the API and its dependencies (database, Redis, queues, configuration) are working. No credentials needed.",
  Auth: "Register, log in, refresh and revoke tokens, and read or edit your profile. Access tokens go in `Authorization: Bearer <access>` (`Token <access>` works too).",
  Admin: "Admin-only management: credit wallets, issue and revoke API keys, activate merchants, change settings.",
  Account: "Your wallet balance, active subscriptions and transaction history.",
  Offers: "Partner offers (subscriptions) you can activate with points; admins create and edit them.",
  Activation: "Activate an offer: the points are taken at once and a partner confirms in the background; poll the status.",
  Partner: "Calls from the activation partner, signed with HMAC headers (`X-Partner-*`); not for end users.",
  "Merchant vouchers": "Merchants publish and manage their vouchers (optionally with an image) and see their statistics.",
  "Public vouchers": "Browse the vouchers on sale; a token adds whether you bought one and can buy again.",
  "Voucher purchases": "Buy, cancel and refund vouchers with wallet points.",
  "User vouchers": "The vouchers you bought or were given, and their QR codes for the till.",
  "Gift cards": "Send a gift-card voucher to a phone over WhatsApp, claim one you were sent, and list both sides.",
  "WhatsApp contacts": "Sync your contacts so you can send gift cards to them.",
  "Merchant scan": "At the till: scan a customer's QR code to see whether it can be redeemed, then redeem it.",
  Advertisements: "Merchants pay points to show advertisements by city and state; anyone can list the active ones.",
  Merchants: "Your merchant business profile.",
  Categories: "Voucher categories; admins edit them.",
  Media: "Uploaded images (voucher images, advertisement banners), public by URL.",
  Customers: "Your customer records and their notification preferences.",
  Orders: "Orders of your customers and their status changes; customers are told about each change.",
  Notifications: "Send single, bulk and scheduled notifications by email, Telegram or WhatsApp; history and delivery statistics.",
  Events: "A live stream of events for the signed-in user.",
};

/** A tag for an operation declared without one: its path's first segment after /api/v1. */
export function tagFor(path: string): string {
  const segment = path.replace(/^\/api\/v1\//, "/").split("/").filter(Boolean)[0] ?? "api";
  const words = segment.split("-").join(" ");
  return words[0]!.toUpperCase() + words.slice(1);
}
