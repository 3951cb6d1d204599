import { waitUntil } from "cloudflare:workers";
import type { Env } from "../../env";
import type { UserEvent } from "./events.schemas";

/** A publish that takes longer than this is abandoned: live status is a convenience, polling the truth. */
export const PUBLISH_TIMEOUT_MS = 2_000;

export function userEventsObject(env: Env, userId: number) {
  return env.USER_EVENTS.get(env.USER_EVENTS.idFromName(`user:${userId}`));
}

/**
 * Tells the user's open sockets about a status change. Called after D1 has committed it; it
 * never throws and never delays the caller (the work runs under `waitUntil`, bounded by a
 * timeout, and a failure is only logged): the money path must not depend on anyone listening.
 * The returned promise is for tests; callers do not await it.
 */
export function publishUserEvent(env: Env, userId: number, event: UserEvent): Promise<void> {
  return publishUserEvents(env, userId, [event]);
}

/** The same for several events of one user: one call to the user's object, each event its own socket message. */
export function publishUserEvents(env: Env, userId: number, events: UserEvent[]): Promise<void> {
  const work = (async () => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${PUBLISH_TIMEOUT_MS} ms`)), PUBLISH_TIMEOUT_MS);
      });
      await Promise.race([userEventsObject(env, userId).publish(events), timeout]);
    } catch (error) {
      console.warn(JSON.stringify({ level: "warn", msg: "user event not published", user_id: userId, type: events[0]?.type, count: events.length, error: String(error) }));
    } finally {
      if (timer !== undefined) clearTimeout(timer);
    }
  })();
  try {
    waitUntil(work);
  } catch {
    // Outside a request (some test harnesses): the promise still runs and still cannot reject.
  }
  return work;
}

/**
 * Events of several users, each with its user, in order: one `publishUserEvents` per user, whose
 * events keep their order (a consumer that settled a batch of rows announces them this way).
 */
export function publishPerUser(env: Env, events: { userId: number; event: UserEvent }[]) {
  const byUser = new Map<number, UserEvent[]>();
  for (const { userId, event } of events) {
    const list = byUser.get(userId);
    if (list) list.push(event);
    else byUser.set(userId, [event]);
  }
  for (const [userId, list] of byUser) publishUserEvents(env, userId, list);
}
