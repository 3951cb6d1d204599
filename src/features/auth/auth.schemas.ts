import { z } from "@hono/zod-openapi";
import { isE164 } from "../../lib/phone";
import { SafeName } from "../../lib/safe-text";

const Username = z
  .string()
  .trim()
  .min(3)
  .max(150)
  .regex(/^[A-Za-z0-9_.@+-]+$/, "may contain letters, digits and @ . + - _ only")
  .openapi({ example: "demo_user" });
const Password = z.string().min(10, "must be at least 10 characters").max(128).openapi({ example: "secure_password123" });
const Phone = z.string().refine(isE164, "must be in E.164 form, like +919876543210").openapi({ example: "+919876543210" });
/** Names appear in messages to other people (a gift card "from"): no links, no control characters. */
const Name = SafeName(150).openapi({ example: "Asha" });

export const RegisterBody = z
  .strictObject({
    username: Username,
    password: Password,
    email: z.email().max(254).optional(),
    first_name: Name.optional(),
    last_name: Name.optional(),
    phone: Phone.optional(),
  })
  .openapi("RegisterRequest");

export const LoginBody = z
  .strictObject({ username: z.string().min(1).max(150), password: z.string().min(1).max(128) })
  .openapi("LoginRequest");

export const RefreshBody = z.strictObject({ refresh: z.string().min(1) }).openapi("RefreshRequest");

export const ProfilePatch = z
  .strictObject({
    email: z.email().max(254).optional(),
    first_name: Name.optional(),
    last_name: Name.optional(),
    phone: Phone.nullable().optional(),
  })
  .openapi("ProfileUpdate");

export const Profile = z
  .object({
    id: z.number().int(),
    username: z.string(),
    email: z.string().nullable(),
    first_name: z.string(),
    last_name: z.string(),
    phone: z.string().nullable(),
    role: z.enum(["user", "merchant", "admin"]),
    date_joined: z.string(),
  })
  .openapi("Profile");

export const TokenPair = z
  .object({
    access: z.string(),
    refresh: z.string(),
    access_expires_in: z.number().int().openapi({ description: "Seconds until the access token expires" }),
  })
  .openapi("TokenPair");

export const TokenPairWithToken = TokenPair.extend({
  token: z.string().openapi({ description: "The access token again, for clients of the notification spec" }),
}).openapi("TokenResponse");

export const RegisterResponse = z.object({ user: Profile, access: z.string(), refresh: z.string(), access_expires_in: z.number() });

export const TokenCheck = z
  .object({ valid: z.literal(true), user: Profile, expires_at: z.string() })
  .openapi("TokenCheck");

export const MessageResponse = z.object({ message: z.string() }).openapi("Message");
