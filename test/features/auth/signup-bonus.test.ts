import { env } from "cloudflare:workers";
import { createExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { app } from "../../../src/index";
import { BASE } from "../../helpers/api";
import { unique, walletState } from "../../helpers/factories";

const register = (bonus: string) =>
  app.fetch(
    new Request(`${BASE}/api/v1/auth/register`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username: unique("bonus"), password: "a-long-enough-password" }),
    }),
    { ...env, SIGNUP_BONUS: bonus },
    createExecutionContext(),
  );

describe("sign-up bonus (SIGNUP_BONUS)", () => {
  it("credits the bonus once, through the ledger, with a BONUS transaction", async () => {
    const res = await register("5.00");
    expect(res.status).toBe(201);
    const { user } = (await res.json()) as { user: { id: number } };
    expect(await walletState(user.id)).toEqual({ balance: 500, ledger_sum: 500, debits: 0 });
    const tx = await env.DB.prepare("SELECT type, status, amount FROM transactions WHERE user_id = ?").bind(user.id).all();
    expect(tx.results).toEqual([{ type: "BONUS", status: "SUCCESS", amount: 500 }]);
  });

  it("credits nothing when the bonus is 0.00", async () => {
    const res = await register("0.00");
    const { user } = (await res.json()) as { user: { id: number } };
    const state = await walletState(user.id);
    expect(state.ledger_sum).toBe(0);
    expect(state.balance ?? 0).toBe(0);
  });
});
