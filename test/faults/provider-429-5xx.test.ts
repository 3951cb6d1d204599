// Fault: the email provider throttles (429 with Retry-After), then fails (5xx), then accepts; and
// a worker that dies after the provider accepted leaves the row claimed. The email is sent once
// per attempt that reached the provider, and every attempt carries one Idempotency-Key, so
// Resend itself drops the repeats.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { Env } from "../../src/env";
import { notifyUser } from "../../src/features/notifications/notify";
import { QueueName } from "../../src/queues/messages";
import { createUser } from "../helpers/factories";
import { outbound } from "../helpers/outbound";
import { deliverTo, expectConservation, quietly, recordingQueue } from "./helpers";

const RESEND = "https://api.resend.com/emails";

describe("provider answering 429 and 5xx", () => {
  it("retries honour Retry-After and back off; sent once; every attempt carries the same Idempotency-Key, also after a worker died post-acceptance", async () => {
    const queue = recordingQueue<{ type: string; notification_id: string }>();
    const workerEnv = { ...env, RESEND_API_KEY: "re_test_key", EMAIL_FROM: "perks@example.test", NOTIFICATIONS: queue } as unknown as Env;
    const user = await createUser({ balance: 1000 });
    const sent = await notifyUser(workerEnv, user.id, { title: "Receipt", message: "Thanks", category: "transactional" });
    const message = queue.sent;
    expect(message).toEqual([{ type: "notification.deliver", notification_id: sent!.id }]);

    outbound.sequence(RESEND, [
      () => new Response(JSON.stringify({ message: "Too many requests" }), { status: 429, headers: { "retry-after": "30" } }),
      () => new Response(JSON.stringify({ message: "Internal error" }), { status: 502 }),
      () => Response.json({ id: "re_accepted" }),
    ]);
    const first = await quietly(() => deliverTo(workerEnv, QueueName.notifications, message, { attempts: 1 }));
    expect(first.result.retryDelays).toEqual([30]);
    const second = await quietly(() => deliverTo(workerEnv, QueueName.notifications, message, { attempts: 2 }));
    expect(second.result.retryDelays).toEqual([4]);
    const third = await deliverTo(workerEnv, QueueName.notifications, message, { attempts: 3 });
    expect(third.explicitAcks).toHaveLength(1);

    const row = () => env.DB.prepare("SELECT status, attempts, provider_message_id FROM notifications WHERE id = ?").bind(sent!.id).first();
    expect(await row()).toEqual({ status: "sent", attempts: 3, provider_message_id: "re_accepted" });
    // Delivered again after it was sent (at least once): nothing reaches the provider.
    await deliverTo(workerEnv, QueueName.notifications, message, { attempts: 4 });
    expect(outbound.requestsTo(RESEND)).toHaveLength(3);

    // A worker died after Resend accepted a second notification: the row is still claimed and open.
    const again = await notifyUser(workerEnv, user.id, { title: "Receipt 2", message: "Thanks again", category: "transactional" });
    const expired = new Date(Date.now() - 1000).toISOString();
    await env.DB.prepare("UPDATE notifications SET status = 'queued', attempts = 1, lease_until = ? WHERE id = ?").bind(expired, again!.id).run();
    outbound.on(RESEND, Response.json({ id: "re_dedup" }));
    await deliverTo(workerEnv, QueueName.notifications, [{ type: "notification.deliver", notification_id: again!.id }], { attempts: 2 });

    const keys = outbound.requestsTo(RESEND).map((r) => r.headers["idempotency-key"]);
    expect(keys).toEqual([`notification/${sent!.id}`, `notification/${sent!.id}`, `notification/${sent!.id}`, `notification/${again!.id}`]);
    await expectConservation(user.id);
  });
});
