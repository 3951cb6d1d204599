import type { UserEventsDurableObject } from "./features/events/user-events.durable-object";
import type { WalletDurableObject } from "./features/wallet/wallet.durable-object";
import type { ActivationMessage, NotificationMessage } from "./queues/messages";

/** Bindings, vars and secrets the worker reads. Secrets are optional where a sandbox stands in. */
export interface Env {
  DB: D1Database;
  WALLET: DurableObjectNamespace<WalletDurableObject>;
  USER_EVENTS: DurableObjectNamespace<UserEventsDurableObject>;
  MEDIA: R2Bucket;
  ACTIVATIONS: Queue<ActivationMessage>;
  NOTIFICATIONS: Queue<NotificationMessage>;
  AUTH_LIMITER?: RateLimit;
  LOGIN_LIMITER?: RateLimit;
  SESSION_LIMITER?: RateLimit;
  ORDER_LIMITER?: RateLimit;
  SHARE_LIMITER?: RateLimit;
  SCAN_LIMITER?: RateLimit;
  CLAIM_LIMITER?: RateLimit;
  NOTIFY_LIMITER?: RateLimit;
  /** Static files from public/ (vendored browser bundles such as the docs page's script). */
  ASSETS?: Fetcher;

  ENVIRONMENT: string;
  JWT_SECRET: string;
  JWT_KID?: string;
  JWT_PREVIOUS_SECRET?: string;
  JWT_PREVIOUS_KID?: string;
  JWT_ISSUER: string;
  JWT_AUDIENCE: string;
  ACCESS_TOKEN_TTL_SECONDS: string;
  REFRESH_TOKEN_TTL_SECONDS: string;
  CORS_ORIGINS: string;
  REQUIRE_API_KEY: string;
  SIGNUP_BONUS: string;
  EXPIRY_NOTICE_WINDOW_DAYS: string;
  PUBLIC_BASE_URL: string;
  /** Per-isolate cache bound for read-mostly data, in seconds (default 10; "0" turns it off). */
  READ_CACHE_SECONDS?: string;
  /** Non-urgent messages one recipient gets per UTC day from everyone together (default 20). */
  RECIPIENT_DAILY_MESSAGE_LIMIT?: string;
  /** Messages one account may send per hour: manual sends, bulk items and gift-card shares (default 200). */
  SENDER_HOURLY_MESSAGE_LIMIT?: string;

  UPSTASH_REDIS_REST_URL?: string;
  UPSTASH_REDIS_REST_TOKEN?: string;
  /** Milliseconds before a Redis call gives up (default 250). */
  REDIS_TIMEOUT_MS?: string;

  PARTNER_API_URL?: string;
  PARTNER_API_SECRET?: string;

  RESEND_API_KEY?: string;
  EMAIL_FROM?: string;
  TELEGRAM_BOT_TOKEN?: string;
  WHATSAPP_ACCESS_TOKEN?: string;
  WHATSAPP_PHONE_NUMBER_ID?: string;
}

/** Hono's generics for this app: bindings plus what middleware puts on the context. */
export interface AppBindings {
  Bindings: Env;
  Variables: {
    requestId: string;
    auth?: AuthContext;
    /** The client's valid X-API-Key, when one was sent. */
    apiKey?: { id: number; scopes: string[] };
  };
}

export type Role = "user" | "merchant" | "admin";

export interface AuthContext {
  userId: number;
  role: Role;
  username: string;
  /** Unix seconds at which the presented access token expires. */
  tokenExpiresAt: number;
}
