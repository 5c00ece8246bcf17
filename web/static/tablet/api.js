// The hub's API as the tablet uses it: REST with the session cookie and X-CSRF-Token, and the
// Socket.IO control events (docs/api.md) acknowledged with the class view. Errors become ApiError
// with the hub's own message, which the page shows as it is.

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

const ACK_TIMEOUT_MS = 8000;

export class Api {
  constructor() {
    this.session = { signed_in: false, role: "display", user: null, csrf_token: null };
    this.socket = null;
    this.onSignedOut = () => {};   // the hub answered 401 or ended the session (sign-out elsewhere, new PIN)
    this.leaving = false;          // signing out here: the hub's signed_out is expected, not news
  }

  get signedIn() { return this.session.signed_in; }
  get isAdmin() { return this.session.role === "admin"; }

  async refreshSession() {
    this.session = await this.get("/api/session");
    return this.session;
  }

  async signIn(name, pin) {
    this.session = await this.send("POST", "/api/session", { name, pin });
    return this.session;
  }

  async signOut() {
    this.leaving = true;
    try { await this.send("DELETE", "/api/session"); } finally {
      this.session = { signed_in: false, role: "display", user: null, csrf_token: null };
      this.leaving = false;
    }
  }

  /** The hub's ``signed_out`` socket event: this session was ended (a new PIN, sign out everywhere). */
  sessionEnded() {
    if (this.session.signed_in && !this.leaving) this.#signedOut();
  }

  async get(url) {
    return this.#answer(await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" }));
  }

  /** A write: JSON body (or ``text`` with its content type), the CSRF header. */
  async send(method, url, body = undefined, contentType = "application/json") {
    const headers = { Accept: "application/json" };
    if (this.session.csrf_token) headers["X-CSRF-Token"] = this.session.csrf_token;
    let data;
    if (body !== undefined) {
      headers["Content-Type"] = contentType;
      data = contentType === "application/json" ? JSON.stringify(body) : body;
    }
    return this.#answer(await fetch(url, { method, headers, body: data, credentials: "same-origin" }));
  }

  async #answer(r) {
    const type = r.headers.get("Content-Type") || "";
    const data = type.includes("json") ? await r.json() : await r.text();
    if (r.status === 401 && this.session.signed_in && !r.url.endsWith("/api/session")) this.#signedOut();
    if (!r.ok) {
      const msg = (data && data.errors && data.errors.length) ? data.errors.join("; ") : (data && data.error) || r.statusText;
      throw new ApiError(r.status, msg);
    }
    return data;
  }

  /** A class control event over the socket; resolves with the class view from the acknowledgement. */
  control(event, payload = {}) {
    return new Promise((resolve, reject) => {
      if (!this.socket || !this.socket.connected) {
        reject(new ApiError(0, "not connected to the hub: wait for the banner to go"));
        return;
      }
      this.socket.timeout(ACK_TIMEOUT_MS).emit(event, { ...payload, csrf: this.session.csrf_token }, (err, ack) => {
        if (err) reject(new ApiError(0, `the hub did not answer ${event}`));
        else if (!ack || !ack.ok) {
          if (ack && ack.status === 401) this.#signedOut();
          reject(new ApiError(ack ? ack.status : 0, (ack && ack.error) || `${event} refused`));
        } else resolve(ack.class);
      });
    });
  }

  #signedOut() {
    this.session = { signed_in: false, role: "display", user: null, csrf_token: null };
    this.onSignedOut();
  }
}
