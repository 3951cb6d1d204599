import { env } from "cloudflare:workers";
import { createScheduledController } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import worker from "../../../src/index";
import { CRON } from "../../../src/cron/schedules";
import { api } from "../../helpers/api";
import { createUser, unique } from "../../helpers/factories";
import { makeOffer } from "../../helpers/offer-factories";

async function subscriptionEnding(userId: number, offerId: number, endsAt: Date) {
  const now = new Date().toISOString();
  const row = await env.DB.prepare(
    "INSERT INTO subscriptions (user_id, offer_id, transaction_id, reference, status, starts_at, ends_at, created_at, updated_at) VALUES (?, ?, ?, ?, 'active', ?, ?, ?, ?) RETURNING id",
  )
    .bind(userId, offerId, crypto.randomUUID(), unique("SUB-C"), now, endsAt.toISOString(), now, now)
    .first<{ id: number }>();
  return row!.id;
}

const noticesFor = async (subscriptionId: number) =>
  (await env.DB.prepare("SELECT COUNT(*) AS n FROM notifications WHERE dedupe_key LIKE ?").bind(`subscription-expiry:${subscriptionId}:%`).first<{ n: number }>())!.n;

const runAt = (at: Date) => worker.scheduled(createScheduledController({ cron: CRON.frequent, scheduledTime: at.getTime() }), env);

describe("subscription expiry cron", () => {
  it("two runs for the same time send each expiry notice once; subscriptions outside the window get none", async () => {
    const user = await createUser();
    const offer = await makeOffer();
    const at = new Date();
    const soon = await subscriptionEnding(user.id, offer.id, new Date(at.getTime() + 86_400_000));
    const later = await subscriptionEnding(user.id, offer.id, new Date(at.getTime() + 10 * 86_400_000));
    await runAt(at);
    await runAt(at);
    expect(await noticesFor(soon)).toBe(1);
    expect(await noticesFor(later)).toBe(0);
    const notice = await env.DB.prepare("SELECT user_id, recipient, title FROM notifications WHERE dedupe_key LIKE ?").bind(`subscription-expiry:${soon}:%`).first<any>();
    expect(notice).toMatchObject({ user_id: user.id, recipient: user.email });
    const flagged = await env.DB.prepare("SELECT expiry_notified_at FROM subscriptions WHERE id = ?").bind(soon).first<{ expiry_notified_at: string }>();
    expect(flagged!.expiry_notified_at).toBe(at.toISOString());
  });

  it("a renewal re-arms the notice for the new end date", async () => {
    const user = await createUser({ balance: 10_000 });
    const offer = await makeOffer({ price: 1000, durationDays: 2 });
    const at = new Date();
    const id = await subscriptionEnding(user.id, offer.id, new Date(at.getTime() + 3_600_000));
    await runAt(at);
    expect(await noticesFor(id)).toBe(1);
    const renewed = await api("POST", "/api/v1/offers/renew/", { token: user.token, body: { subscription_id: id } });
    expect(renewed.status).toBe(200);
    await runAt(at);
    await runAt(at);
    expect(await noticesFor(id)).toBe(2);
  });

  it("ended subscriptions are deactivated and leave the account's active list", async () => {
    const user = await createUser();
    const offer = await makeOffer();
    const at = new Date();
    const ended = await subscriptionEnding(user.id, offer.id, new Date(at.getTime() - 60_000));
    await runAt(at);
    const row = await env.DB.prepare("SELECT status FROM subscriptions WHERE id = ?").bind(ended).first<{ status: string }>();
    expect(row!.status).toBe("expired");
    expect(await noticesFor(ended)).toBe(0);
    const account = await api("GET", "/api/v1/account/", { token: user.token });
    expect(account.body.active_subscriptions.some((s: any) => s.id === ended)).toBe(false);
  });
});
