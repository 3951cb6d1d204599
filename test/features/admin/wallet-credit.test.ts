import { describe, expect, it } from "vitest";
import { api, isCleanError } from "../../helpers/api";
import { createUser, walletState } from "../../helpers/factories";

describe("POST /api/v1/admin/wallets/{user_id}/credit", () => {
  it("adds funds with a ledger entry and a CREDIT transaction", async () => {
    const admin = await createUser({ role: "admin" });
    const user = await createUser();
    const res = await api("POST", `/api/v1/admin/wallets/${user.id}/credit/`, {
      token: admin.token,
      body: { amount: "100.00", reason: "Welcome credit" },
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ amount: "100.00", balance: "100.00", replayed: false });
    expect(await walletState(user.id)).toMatchObject({ balance: 10000, ledger_sum: 10000 });
  });

  it("replays the same Idempotency-Key with one effect and refuses it with another body", async () => {
    const admin = await createUser({ role: "admin" });
    const user = await createUser();
    const send = (amount: string) =>
      api("POST", `/api/v1/admin/wallets/${user.id}/credit`, {
        token: admin.token,
        headers: { "idempotency-key": `credit-${user.id}-key` },
        body: { amount, reason: "Goodwill" },
      });
    const [first, second] = [await send("25.50"), await send("25.50")];
    expect(first.status).toBe(200);
    expect(second.status).toBe(200);
    expect(second.body).toEqual(first.body);
    expect(second.headers.get("idempotent-replayed")).toBe("true");
    expect((await walletState(user.id)).balance).toBe(2550);
    const other = await send("99.00");
    expect(other.status).toBe(422);
    expect(other.body.code).toBe("IDEMPOTENCY_KEY_REUSED");
    expect((await walletState(user.id)).balance).toBe(2550);
  });

  it("runs concurrent requests with one Idempotency-Key once", async () => {
    const admin = await createUser({ role: "admin" });
    const user = await createUser();
    const results = await Promise.all(
      Array.from({ length: 10 }, () =>
        api("POST", `/api/v1/admin/wallets/${user.id}/credit`, {
          token: admin.token,
          headers: { "idempotency-key": `concurrent-${user.id}` },
          body: { amount: "5.00", reason: "Once" },
        }),
      ),
    );
    expect(results.every((r) => [200, 409].includes(r.status))).toBe(true);
    expect((await walletState(user.id)).balance).toBe(500);
  });

  it("validates the amount and the user", async () => {
    const admin = await createUser({ role: "admin" });
    const user = await createUser();
    const bad = await api("POST", `/api/v1/admin/wallets/${user.id}/credit`, { token: admin.token, body: { amount: "1.234", reason: "x" } });
    expect(bad.status).toBe(400);
    const missing = await api("POST", "/api/v1/admin/wallets/99999999/credit", { token: admin.token, body: { amount: "1.00", reason: "x" } });
    expect(missing.status).toBe(404);
    const notAdmin = await api("POST", `/api/v1/admin/wallets/${user.id}/credit`, { token: user.token, body: { amount: "1.00", reason: "x" } });
    expect(notAdmin.status).toBe(403);
  });

  it("refuses a zero or negative credit with a 400 and moves nothing", async () => {
    const admin = await createUser({ role: "admin" });
    const user = await createUser();
    for (const amount of ["0.00", "0", 0, "-5.00", -5, "-0.01"]) {
      const res = await api("POST", `/api/v1/admin/wallets/${user.id}/credit`, { token: admin.token, body: { amount, reason: "Nothing" } });
      expect(res.status, `amount ${JSON.stringify(amount)}`).toBe(400);
      expect(res.body.code).toBe("VALIDATION_ERROR");
      expect(isCleanError(res.body)).toBe(true);
    }
    expect(await walletState(user.id)).toMatchObject({ balance: 0, ledger_sum: 0 });
  });
});
