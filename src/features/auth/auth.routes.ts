import { createRoute } from "@hono/zod-openapi";
import { currentUser, requireAuth } from "../../middleware/auth";
import { limitOrThrow, rateLimit } from "../../middleware/rate-limit";
import { clientAddressKey } from "../../lib/client-address";
import { verifyToken, type RefreshClaims } from "../../lib/jwt";
import type { Context } from "hono";
import type { AppBindings } from "../../env";
import { bearerSecurity, createRouter, errorResponses, jsonBody, jsonContent } from "../../lib/openapi";
import {
  LoginBody,
  MessageResponse,
  Profile,
  ProfilePatch,
  RefreshBody,
  RegisterBody,
  RegisterResponse,
  TokenCheck,
  TokenPair,
  TokenPairWithToken,
} from "./auth.schemas";
import { getProfile, login, logout, refreshSession, registerUser, updateProfile } from "./auth.service";

const tags = ["Auth"];
export const authRouter = createRouter();

authRouter.use("/register", rateLimit("AUTH_LIMITER", "register"));
authRouter.use("/login", rateLimit("LOGIN_LIMITER", "login"));
authRouter.use("/token", rateLimit("LOGIN_LIMITER", "login"));

const address = (c: Context<AppBindings>) => clientAddressKey(c.req.header("cf-connecting-ip"));

/** Refresh and logout are limited per user; a token that does not verify is counted by address. */
async function limitSession(c: Context<AppBindings>, refresh: string) {
  const claims = await verifyToken<RefreshClaims>(c.env, "refresh", refresh);
  await limitOrThrow(c.env, "SESSION_LIMITER", claims ? `session:user:${claims.sub}` : `session:addr:${address(c)}`);
}
authRouter.use("/profile", requireAuth);
authRouter.use("/token/check", requireAuth);

authRouter.openapi(
  createRoute({
    method: "post",
    path: "/register",
    tags,
    summary: "Create an account (role user) and sign in",
    request: { body: jsonBody(RegisterBody) },
    responses: { 201: jsonContent(RegisterResponse, "Account created"), ...errorResponses(400, 409, 429) },
  }),
  async (c) => c.json(await registerUser(c.env, c.req.valid("json")), 201),
);

authRouter.openapi(
  createRoute({
    method: "post",
    path: "/login",
    tags,
    summary: "Exchange username and password for an access and a refresh token",
    request: { body: jsonBody(LoginBody) },
    responses: { 200: jsonContent(TokenPair, "Tokens"), ...errorResponses(400, 401, 429) },
  }),
  async (c) => c.json(await login(c.env, c.req.valid("json"), address(c)), 200),
);

authRouter.openapi(
  createRoute({
    method: "post",
    path: "/token",
    tags,
    summary: "Same as login; also returns the access token as `token`",
    request: { body: jsonBody(LoginBody) },
    responses: { 200: jsonContent(TokenPairWithToken, "Tokens"), ...errorResponses(400, 401, 429) },
  }),
  async (c) => {
    const tokens = await login(c.env, c.req.valid("json"), address(c));
    return c.json({ ...tokens, token: tokens.access }, 200);
  },
);

authRouter.openapi(
  createRoute({
    method: "get",
    path: "/token/check",
    tags,
    summary: "Check the presented access token",
    security: bearerSecurity,
    responses: { 200: jsonContent(TokenCheck, "The token is valid"), ...errorResponses(401) },
  }),
  async (c) => {
    const auth = currentUser(c);
    const user = await getProfile(c.env, auth.userId);
    return c.json({ valid: true as const, user, expires_at: new Date(auth.tokenExpiresAt * 1000).toISOString() }, 200);
  },
);

authRouter.openapi(
  createRoute({
    method: "get",
    path: "/profile",
    tags,
    summary: "The caller's profile",
    security: bearerSecurity,
    responses: { 200: jsonContent(Profile, "Profile"), ...errorResponses(401) },
  }),
  async (c) => c.json(await getProfile(c.env, currentUser(c).userId), 200),
);

authRouter.openapi(
  createRoute({
    method: "patch",
    path: "/profile",
    tags,
    summary: "Update the caller's own fields (email, names, phone)",
    security: bearerSecurity,
    request: { body: jsonBody(ProfilePatch) },
    responses: { 200: jsonContent(Profile, "Updated profile"), ...errorResponses(400, 401) },
  }),
  async (c) => c.json(await updateProfile(c.env, currentUser(c).userId, c.req.valid("json")), 200),
);

authRouter.openapi(
  createRoute({
    method: "post",
    path: "/refresh",
    tags,
    summary: "Rotate a refresh token: new access and refresh tokens; reuse revokes the session",
    request: { body: jsonBody(RefreshBody) },
    responses: { 200: jsonContent(TokenPair, "New tokens"), ...errorResponses(400, 401, 429) },
  }),
  async (c) => {
    const { refresh } = c.req.valid("json");
    await limitSession(c, refresh);
    return c.json(await refreshSession(c.env, refresh), 200);
  },
);

authRouter.openapi(
  createRoute({
    method: "post",
    path: "/logout",
    tags,
    summary: "End the session the refresh token belongs to",
    request: { body: jsonBody(RefreshBody) },
    responses: { 200: jsonContent(MessageResponse, "Logged out"), ...errorResponses(400, 401, 429) },
  }),
  async (c) => {
    const { refresh } = c.req.valid("json");
    await limitSession(c, refresh);
    await logout(c.env, refresh);
    return c.json({ message: "Logged out." }, 200);
  },
);
