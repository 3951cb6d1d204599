import { describe, expect, it } from "vitest";
import { api } from "../../helpers/api";
import { createUser } from "../../helpers/factories";

describe("WhatsApp contacts", () => {
  it("normalises to E.164, reports invalid numbers, merges duplicates, and marks availability unknown", async () => {
    const user = await createUser();
    const res = await api("POST", "/api/v1/whatsapp-contacts/sync-contacts/", {
      token: user.token,
      body: {
        default_country_code: "91",
        contacts: [
          { name: "John Doe", phone_number: "+91 98765-43210" },
          { name: "Johnny", phone_number: "0091 (98765) 43210" },
          { name: "Jane Smith", phone_number: "09876543211" },
          { name: "Nobody", phone_number: "not a number" },
        ],
      },
    });
    expect(res.status).toBe(200);
    expect(res.body.message).toBe("Synced 2 contacts, 0 on WhatsApp");
    expect(res.body.whatsapp_contacts).toEqual([
      { id: expect.any(Number), name: "Johnny", phone_number: "+919876543210", is_on_whatsapp: null },
      { id: expect.any(Number), name: "Jane Smith", phone_number: "+919876543211", is_on_whatsapp: null },
    ]);
    expect(res.body.invalid_contacts).toEqual([{ name: "Nobody", phone_number: "not a number", reason: expect.any(String) }]);

    const again = await api("POST", "/api/voucher/whatsapp-contacts/sync-contacts/", {
      token: user.token,
      body: { contacts: [{ name: "John D.", phone_number: "+919876543210" }] },
    });
    expect(again.body.whatsapp_contacts[0].id).toBe(res.body.whatsapp_contacts[0].id);

    const list = await api("GET", "/api/v1/whatsapp-contacts/whatsapp-contacts/", { token: user.token });
    expect(list.status).toBe(200);
    expect(list.body).toEqual([
      { id: expect.any(Number), name: "Jane Smith", phone_number: "+919876543211", is_on_whatsapp: null },
      { id: expect.any(Number), name: "John D.", phone_number: "+919876543210", is_on_whatsapp: null },
    ]);
  });

  it("keeps each user's contacts to themselves", async () => {
    const [a, b] = await Promise.all([createUser(), createUser()]);
    await api("POST", "/api/v1/whatsapp-contacts/sync-contacts/", { token: a.token, body: { contacts: [{ name: "A", phone_number: "+14155550100" }] } });
    const list = await api("GET", "/api/v1/whatsapp-contacts/whatsapp-contacts/", { token: b.token });
    expect(list.body).toEqual([]);
  });

  it("refuses bodies over the cap, unknown fields, and anonymous callers", async () => {
    const user = await createUser();
    const contacts = Array.from({ length: 501 }, (_, i) => ({ phone_number: `+1415555${String(i).padStart(4, "0")}` }));
    expect((await api("POST", "/api/v1/whatsapp-contacts/sync-contacts/", { token: user.token, body: { contacts } })).status).toBe(400);
    const extra = await api("POST", "/api/v1/whatsapp-contacts/sync-contacts/", {
      token: user.token,
      body: { contacts: [{ phone_number: "+14155550100", is_on_whatsapp: true }] },
    });
    expect(extra.status).toBe(400);
    expect((await api("GET", "/api/v1/whatsapp-contacts/whatsapp-contacts/")).status).toBe(401);
  });
});
