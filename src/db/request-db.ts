/**
 * One D1 session per request (D1 read replication through the Sessions API). Reads may be served
 * by a nearby read replica; writes always go to the primary. The client gets the session's
 * bookmark in `X-D1-Bookmark` and may send it back: the next request's session then starts at
 * least that fresh, so a client always reads its own writes, from any region.
 *
 * RequestDb has the D1Database surface (drizzle's d1 driver only calls prepare and batch), so the
 * services keep taking `env.DB` unchanged.
 */
export const BOOKMARK_HEADER = "X-D1-Bookmark";

/** D1 bookmarks are four dash-separated hex groups; anything else is ignored, never forwarded. */
export const BOOKMARK_PATTERN = "^[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{32}$";
const BOOKMARK = new RegExp(BOOKMARK_PATTERN);

export const validBookmark = (value: string | null | undefined): string | null => (value && BOOKMARK.test(value) ? value : null);

/** Listeners told about every statement that writes (the read caches drop what it touches). */
type WriteListener = (sql: string) => void;
const writeListeners: WriteListener[] = [];
export function onWrite(listener: WriteListener) {
  writeListeners.push(listener);
}

const WRITE = /^\s*(?:with\b[^]*?\)\s*)?(?:insert|update|delete|replace)\b/i;
export const isWrite = (sql: string) => WRITE.test(sql);

export class RequestDb {
  /** Opened at the first query: a request answered from memory (health, a cache hit) opens none. */
  private current: D1DatabaseSession | null = null;
  private advancedTo: string | null;

  constructor(
    private readonly db: D1Database,
    bookmark: string | null,
  ) {
    this.advancedTo = bookmark;
  }

  private get session(): D1DatabaseSession {
    return (this.current ??= this.db.withSession(this.advancedTo ?? "first-unconstrained"));
  }

  prepare(query: string): D1PreparedStatement {
    if (writeListeners.length > 0 && isWrite(query)) for (const listener of writeListeners) listener(query);
    return this.session.prepare(query);
  }

  batch<T = unknown>(statements: D1PreparedStatement[]): Promise<D1Result<T>[]> {
    return this.session.batch<T>(statements);
  }

  /** exec is for migrations and scripts: straight to the primary. */
  exec(query: string): Promise<D1ExecResult> {
    return this.db.exec(query);
  }

  withSession(constraintOrBookmark?: string): D1DatabaseSession {
    return this.db.withSession(constraintOrBookmark);
  }

  dump(): Promise<ArrayBuffer> {
    return this.db.dump();
  }

  /** A write committed elsewhere (the wallet's Durable Object): later reads of this request must see it. */
  advanceTo(bookmark: string | null | undefined) {
    if (!bookmark) return;
    this.advancedTo = bookmark;
    this.current = null;
  }

  /** The primary itself, for the rare read that must not lag (a code that a replica does not know yet). */
  primary(): D1Database {
    return this.db;
  }

  bookmark(): string | null {
    return this.current?.getBookmark() ?? this.advancedTo;
  }
}

/** Wraps the binding for one request, honouring the client's bookmark. */
export function requestDb(db: D1Database, request: Request): D1Database {
  return new RequestDb(db, validBookmark(request.headers.get(BOOKMARK_HEADER))) as unknown as D1Database;
}

const asRequestDb = (db: D1Database) => (db instanceof RequestDb ? db : null);

/** See RequestDb.advanceTo; a plain binding (queue consumers, cron) reads the primary anyway. */
export function advanceSession(db: D1Database, bookmark: string | null | undefined) {
  asRequestDb(db)?.advanceTo(bookmark);
}

/** The primary behind a request's session (or the binding itself outside a request). */
export function primaryOf(db: D1Database): D1Database {
  return asRequestDb(db)?.primary() ?? db;
}

export function sessionBookmark(db: D1Database): string | null {
  return asRequestDb(db)?.bookmark() ?? null;
}
