// The hub's API as every page uses it (tablet, /setup, wall display): one session, one way to call,
// one way to say what went wrong (docs/api.md).
//
// - Session: the signed session cookie plus the CSRF token from GET /api/session ("csrf_token"). Every
//   write sends it in X-CSRF-Token; every Socket.IO control event in its "csrf" field.
// - Errors: a refused call rejects with ApiError (HTTP status, or 0 when the hub did not answer) whose
//   message is the hub's own "error", followed by the problems it listed that the message does not
//   already name. Pages show that message as it is.
// - A 401 on a call made while signed in means the sign-in ran out (12 h) or the user was removed, and
//   the hub's ``signed_out`` socket event that it ended the session (sign-out elsewhere, a new PIN, sign
//   out everywhere): the session is cleared, onSignedOut() runs and every session listener hears it.

export class ApiError extends Error {
  constructor(status, message, errors = []) {
    super(message);
    this.status = status;
    this.errors = errors;
  }
}

const ACK_TIMEOUT_MS = 8000;
const SIGNED_OUT = Object.freeze({ signed_in: false, role: "display", user: null, csrf_token: null });

/** The message a page shows for a refused call: ``error``, then the listed problems it does not name. */
export function errorMessage(data, fallback) {
  const error = (data && data.error) || fallback;
  const errors = (data && Array.isArray(data.errors)) ? data.errors : [];
  const more = errors.filter((e) => !error.includes(e));
  return more.length ? `${error} (${more.join("; ")})` : error;
}

export class Api {
  constructor() {
    this.session = { ...SIGNED_OUT };
    this.socket = null;              // set by the page once connected; used by control()
    this.onSignedOut = () => {};     // the hub answered 401 or ended the session while we were signed in
    this.leaving = false;            // signing out here: the hub's signed_out is expected, not news
    this.sessionListeners = [];      // each gets the session after every change
  }

  get signedIn() { return this.session.signed_in; }
  get role() { return this.session.role; }
  get isAdmin() { return this.session.signed_in && this.session.role === "admin"; }

  async refreshSession() {
    return this.#setSession(await this.get("/api/session"));
  }

  async signIn(name, pin) {
    return this.#setSession(await this.send("POST", "/api/session", { name, pin }));
  }

  async signOut() {
    this.leaving = true;
    try { await this.send("DELETE", "/api/session"); } finally {
      this.#setSession({ ...SIGNED_OUT });
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
    const data = type.includes("json") ? await r.json().catch(() => ({})) : await r.text();
    if (r.status === 401 && this.session.signed_in && !r.url.endsWith("/api/session")) this.#signedOut();
    if (!r.ok) throw new ApiError(r.status, errorMessage(data, `${r.status} ${r.statusText}`), data.errors || []);
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
          reject(new ApiError(ack ? ack.status : 0, errorMessage(ack, `${event} refused`), (ack && ack.errors) || []));
        } else resolve(ack.class);
      });
    });
  }

  #setSession(session) {
    this.session = session;
    for (const fn of this.sessionListeners) fn(session);
    return session;
  }

  #signedOut() {
    this.#setSession({ ...SIGNED_OUT });
    this.onSignedOut();
  }
}
