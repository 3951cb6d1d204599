// The till: a merchant signs in, looks a customer's voucher up (camera or typed code), redeems
// it, and sees today's redemptions. Plain DOM, no framework; every text from the API is set with
// textContent, never parsed as HTML (voucher titles and holder names are other people's input).
const $ = (id) => document.getElementById(id);
const API = "/api/v1";
const SESSION_KEY = "perks-till-session";
const LOCATION_KEY = "perks-till-location";
const API_KEY_STORAGE = "perks-till-api-key";

/** A refusal with a sentence for the person at the till. */
class TillError extends Error {
  constructor(code, message, status = 0) {
    super(message);
    this.code = code;
    this.status = status;
  }
}

// ---- session: tokens live in sessionStorage, so closing the tab signs out ----
let session = JSON.parse(sessionStorage.getItem(SESSION_KEY) ?? "null");
const saveSession = (value) => {
  session = value;
  if (value) sessionStorage.setItem(SESSION_KEY, JSON.stringify(value));
  else sessionStorage.removeItem(SESSION_KEY);
};

// ---- the till key: a server that requires an X-API-Key gets it from every call; kept per device ----
let apiKey = localStorage.getItem(API_KEY_STORAGE) ?? "";
const keyHeader = () => (apiKey ? { "x-api-key": apiKey } : {});
function saveApiKey(value) {
  apiKey = value;
  if (value) localStorage.setItem(API_KEY_STORAGE, value);
  else localStorage.removeItem(API_KEY_STORAGE);
}
const KEY_REFUSALS = {
  API_KEY_REQUIRED: "This server needs a till key. Ask your operator for one and enter it under “Till key”.",
  API_KEY_INVALID: "The till key is not valid (it may have been revoked). Ask your operator for a new one and enter it under “Till key”.",
};
/** A refused key sends the till back to sign-in with the key's field open: no other call can work until it is fixed. */
function keyRefused(code) {
  const sentence = KEY_REFUSALS[code];
  if (session) signOut(sentence);
  $("key-box").open = true;
  return new TillError(code, sentence, 401);
}

let refreshing = null;
async function refreshTokens() {
  refreshing ??= fetch(`${API}/auth/refresh`, {
    method: "POST",
    headers: { "content-type": "application/json", ...keyHeader() },
    body: JSON.stringify({ refresh: session?.refresh ?? "" }),
  })
    .then(async (res) => (res.ok ? res.json() : null))
    .catch(() => null)
    .finally(() => (refreshing = null));
  const pair = await refreshing;
  if (pair?.access) saveSession({ ...session, access: pair.access, refresh: pair.refresh });
  return Boolean(pair?.access);
}

/** Calls the API; throws TillError with a sentence to show. An expired access token is refreshed once. */
async function call(method, path, { body, headers = {}, auth = true, retried = false } = {}) {
  const init = { method, headers: { ...keyHeader(), ...headers } };
  if (auth && session?.access) init.headers.authorization = `Bearer ${session.access}`;
  if (body !== undefined) {
    init.headers["content-type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(`${API}${path}`, init);
  } catch {
    throw new TillError("OFFLINE", "The server cannot be reached. Check the connection and try again.");
  }
  if (res.status === 401) {
    const refusal = await res.clone().json().catch(() => null);
    if (Object.hasOwn(KEY_REFUSALS, refusal?.code ?? "")) throw keyRefused(refusal.code);
  }
  if (res.status === 401 && auth) {
    if (!retried && session?.refresh && (await refreshTokens())) return call(method, path, { body, headers, auth, retried: true });
    const sentence = "You were signed out (your session ended). Please sign in again.";
    signOut(sentence);
    throw new TillError("SIGNED_OUT", sentence, 401);
  }
  const data = await res.json().catch(() => null);
  if (res.ok) return data;
  if (res.status === 429) {
    const wait = Number(res.headers.get("retry-after")) || 60;
    throw new TillError("RATE_LIMITED", `Too many requests from this till. Wait ${wait} seconds, then try again.`, 429);
  }
  throw new TillError(data?.code ?? `HTTP_${res.status}`, data?.error ?? `The server answered ${res.status}. Please try again.`, res.status);
}

// ---- messages ----
function notify(text, kind = "error") {
  const box = $("notice");
  box.textContent = text;
  box.className = `notice${kind === "ok" ? " ok" : ""}`;
  box.hidden = !text;
}
const clearNotice = () => notify("");

// ---- sign in / out ----
function showTill(signedIn) {
  $("signin").hidden = signedIn;
  $("till").hidden = !signedIn;
  $("signout").hidden = !signedIn;
  $("who").hidden = !signedIn;
  $("who").textContent = signedIn ? `Signed in as ${session.username}` : "";
  $("who").title = signedIn ? session.username : "";
}

function signOut(reason) {
  const refresh = session?.refresh;
  if (refresh && !reason) fetch(`${API}/auth/logout`, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${session.access}`, ...keyHeader() }, body: JSON.stringify({ refresh }) }).catch(() => {});
  saveSession(null);
  stopCamera();
  current = null;
  $("result").hidden = true;
  showTill(false);
  if (reason) notify(reason);
  $("username").focus();
}

$("signin-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  clearNotice();
  const username = $("username").value.trim();
  const password = $("password").value;
  if (!username || !password) return notify("Enter your username and password.");
  saveApiKey($("api-key").value.trim());
  try {
    const pair = await call("POST", "/auth/login", { body: { username, password }, auth: false });
    saveSession({ access: pair.access, refresh: pair.refresh, username });
    await loadToday();
  } catch (error) {
    if (error.status === 403) {
      saveSession(null);
      return notify("This account has no active merchant business, so it cannot use the till.");
    }
    saveSession(null);
    return notify(error.code === "INVALID_CREDENTIALS" ? "Wrong username or password." : error.message);
  }
  $("password").value = "";
  showTill(true);
  $("code").focus();
});

$("signout").addEventListener("click", () => {
  clearNotice();
  signOut();
});

// ---- look up ----
/** The purchase on screen, and the Idempotency-Key its next redeem uses (kept only across a network failure). */
let current = null;

async function lookUp(code) {
  clearNotice();
  try {
    const scan = await call("POST", "/merchant/scan/scan", { body: { qr_data: code } });
    current = { scan, key: crypto.randomUUID() };
    renderResult();
    $("result-title").focus();
  } catch (error) {
    current = null;
    $("result").hidden = true;
    notify(error.message);
  }
}

function renderResult() {
  const { voucher_details: v, can_redeem, reason } = current.scan;
  $("result").hidden = false;
  $("r-title").textContent = v.title;
  $("r-value").textContent = `${v.voucher_value}${v.is_gift_card ? " · gift card" : ""}`;
  $("r-holder").textContent = [v.user_info.name, v.user_info.phone].filter(Boolean).join(" · ");
  $("r-remaining").textContent = String(v.remaining_redemptions);
  $("r-expiry").textContent = new Date(v.expiry_date).toLocaleString();
  $("r-reference").textContent = v.purchase_reference;
  const verdict = $("verdict");
  verdict.textContent = can_redeem ? "Can be redeemed." : `Cannot be redeemed: ${reason}`;
  verdict.className = `verdict ${can_redeem ? "ok" : "no"}`;
  $("quantity").max = String(Math.max(1, v.remaining_redemptions));
  $("quantity").value = "1";
  $("redeem").disabled = !can_redeem;
}

$("result-title").tabIndex = -1;

$("lookup-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const code = $("code").value.trim();
  if (!code) return notify("Type the code under the customer's QR code, or scan it with the camera.");
  lookUp(code);
});

// ---- redeem ----
$("location").value = localStorage.getItem(LOCATION_KEY) ?? "";
$("location").addEventListener("change", () => {
  localStorage.setItem(LOCATION_KEY, $("location").value.trim());
  loadToday().catch((error) => notify(error.message));
});

$("redeem-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  if (!current?.scan.can_redeem) return;
  clearNotice();
  const quantity = Number($("quantity").value);
  const left = current.scan.voucher_details.remaining_redemptions;
  if (!Number.isInteger(quantity) || quantity < 1) return notify("Quantity must be a whole number of at least 1.");
  if (quantity > left) return notify(`Only ${left} use(s) left on this voucher.`);
  const button = $("redeem");
  button.disabled = true;
  try {
    const done = await call("POST", "/merchant/scan/redeem", {
      body: { redemption_id: current.scan.voucher_details.redemption_id, quantity, location: $("location").value.trim() },
      headers: { "Idempotency-Key": current.key },
    });
    notify(`Redeemed ${done.quantity_redeemed} × ${done.voucher_title} for ${done.user_name}. ${done.remaining_redemptions} use(s) left.`, "ok");
    const details = current.scan.voucher_details;
    details.remaining_redemptions = done.remaining_redemptions;
    current.scan = done.remaining_redemptions > 0 ? { ...current.scan } : { ...current.scan, can_redeem: false, reason: "No uses left." };
    current.key = crypto.randomUUID();
    renderResult();
    await loadToday();
  } catch (error) {
    // After a network failure the same key is kept: retrying cannot redeem twice.
    if (error.code !== "OFFLINE") current.key = crypto.randomUUID();
    notify(error.message);
    button.disabled = !current?.scan.can_redeem;
  }
});

// ---- today at this till ----
let todayPage = 1;
let todaySeq = 0;
const localMidnight = () => {
  const d = new Date();
  d.setHours(0, 0, 0, 0);
  return d.toISOString();
};

async function loadToday(more = false) {
  todayPage = more ? todayPage + 1 : 1;
  const location = $("location").value.trim();
  const query = new URLSearchParams({ since: localMidnight(), page: String(todayPage), page_size: "20" });
  if (location) query.set("location", location);
  const seq = ++todaySeq;
  const page = await call("GET", `/merchant/scan/redemptions?${query}`);
  if (seq !== todaySeq) return; // a later load (another location, a redeem) has the newer answer
  $("today-title").firstChild.textContent = location ? `Today at ${location} ` : "Today at all tills ";
  $("today-count").textContent = `(${page.count})`;
  const body = $("today").tBodies[0];
  if (!more) body.replaceChildren();
  for (const r of page.results) {
    const row = body.insertRow();
    for (const text of [new Date(r.redeemed_at).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }), r.voucher_title, r.user_name, String(r.quantity), r.location || "—"])
      row.insertCell().textContent = text;
  }
  $("today").hidden = body.rows.length === 0;
  $("today-empty").hidden = body.rows.length > 0;
  $("today-more").hidden = !page.next;
}

$("today-more").addEventListener("click", () => loadToday(true).catch((error) => notify(error.message)));

// ---- camera ----
let stopScanner = null;

async function startCamera() {
  const toggle = $("camera-toggle");
  $("camera-box").hidden = false;
  toggle.textContent = "Stop the camera";
  toggle.setAttribute("aria-expanded", "true");
  $("camera-status").textContent = "Starting the camera…";
  try {
    const { startScanner } = await import("./camera.js");
    stopScanner = await startScanner($("camera"), {
      onStatus: (text) => ($("camera-status").textContent = text),
      onCode: (code) => {
        stopCamera();
        $("code").value = code;
        lookUp(code);
      },
    });
  } catch (error) {
    stopCamera();
    notify(error.message);
  }
}

function stopCamera() {
  stopScanner?.();
  stopScanner = null;
  $("camera-box").hidden = true;
  $("camera-toggle").textContent = "Scan with the camera";
  $("camera-toggle").setAttribute("aria-expanded", "false");
}

$("camera-toggle").addEventListener("click", () => (stopScanner || !$("camera-box").hidden ? stopCamera() : startCamera()));

// ---- start ----
$("api-key").value = apiKey;
if (session?.access) {
  showTill(true);
  loadToday().catch((error) => notify(error.message));
} else showTill(false);
