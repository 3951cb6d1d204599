/**
 * The outbound HTTP interceptor tests drive: register answers for URLs, then assert on the
 * requests the worker actually sent (method, URL, headers, body).
 */
export interface RecordedRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string;
}

type Responder = (request: RecordedRequest) => Response | Promise<Response>;
interface Mock {
  match: (url: string, method: string) => boolean;
  respond: Responder;
  times: number;
}

class Outbound {
  private mocks: Mock[] = [];
  private unmocked: string[] = [];
  readonly requests: RecordedRequest[] = [];

  /** Answer requests whose URL starts with `prefix` (or matches the RegExp); `times` limits how often. */
  on(prefix: string | RegExp, respond: Responder | Response | object, options: { method?: string; times?: number } = {}) {
    const responder: Responder =
      typeof respond === "function"
        ? (respond as Responder)
        : respond instanceof Response
          ? () => respond.clone()
          : () => Response.json(respond);
    this.mocks.push({
      match: (url, method) =>
        (typeof prefix === "string" ? url.startsWith(prefix) : prefix.test(url)) && (!options.method || options.method === method),
      respond: responder,
      times: options.times ?? Infinity,
    });
    return this;
  }

  /** Answers in order: the first call gets the first, and so on; the last repeats. */
  sequence(prefix: string | RegExp, responses: Array<() => Response>) {
    let call = 0;
    return this.on(prefix, () => responses[Math.min(call++, responses.length - 1)]!());
  }

  async handle(request: Request): Promise<Response> {
    const recorded: RecordedRequest = {
      method: request.method,
      url: request.url,
      headers: Object.fromEntries(request.headers),
      body: await request.text(),
    };
    this.requests.push(recorded);
    const mock = this.mocks.find((m) => m.times > 0 && m.match(recorded.url, recorded.method));
    if (!mock) {
      this.unmocked.push(`${recorded.method} ${recorded.url}`);
      throw new TypeError(`Network access is disabled in tests: no mock for ${recorded.method} ${recorded.url}`);
    }
    mock.times--;
    return mock.respond(recorded);
  }

  requestsTo(prefix: string): RecordedRequest[] {
    return this.requests.filter((r) => r.url.startsWith(prefix));
  }

  takeUnmocked(): string[] {
    const list = this.unmocked;
    this.unmocked = [];
    return list;
  }

  reset() {
    this.mocks = [];
    this.requests.length = 0;
  }
}

export const outbound = new Outbound();
