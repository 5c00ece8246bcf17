// Sign-in: tap your name, type the PIN on the on-screen keypad. Names that signed in on this tablet
// before are remembered (the hub does not list its users to anyone not signed in); on a demo hub the
// demo instructor is offered. A new name is typed once, before class.
//
// First run (the hub has no user yet, ``first_run`` in GET /api/session): instead of signing in, the
// tablet offers to create the owner — the gym's admin — with a name and a PIN typed twice
// (POST /api/owner). The hub takes it once; a tablet that lost the race is told and signs in.

import { h, $ } from "./dom.js";

const KNOWN_KEY = "sledhub.instructors";
const PIN_MAX = 12;

function remembered() {
  try {
    const names = JSON.parse(localStorage.getItem(KNOWN_KEY) || "[]");
    return Array.isArray(names) ? names.filter((n) => typeof n === "string") : [];
  } catch { return []; }
}

function remember(name) {
  const names = [name, ...remembered().filter((n) => n.toLowerCase() !== name.toLowerCase())].slice(0, 8);
  localStorage.setItem(KNOWN_KEY, JSON.stringify(names));
}

export class SignIn {
  /** ``onSignedIn()`` runs after a successful sign-in. */
  constructor(api, onSignedIn) {
    this.api = api;
    this.onSignedIn = onSignedIn;
    this.root = $("screen-signin");
    this.name = null;
    this.pin = "";
    this.busy = false;
  }

  async show() {
    if (this.api.session.first_run) { this.showOwner(); return; }
    const names = remembered();
    try {
      await this.api.get("/api/demo");
      if (!names.some((n) => n.toLowerCase() === "demo")) names.push("demo");
    } catch { /* not a demo hub */ }
    this.name = names.length === 1 ? names[0] : null;
    this.pin = "";
    this.render(names);
  }

  render(names) {
    const other = h("input", { id: "signin-other", type: "text", autocomplete: "username", placeholder: "Your name",
      testid: "signin-other", "aria-label": "Your name" });
    other.addEventListener("input", () => { this.name = other.value.trim() || null; this.update(); });
    const namePick = h("div", { class: "name-pick", testid: "signin-names" },
      names.map((n) => h("button", { class: "name", type: "button", testid: "signin-name", dataset: { name: n },
        onclick: () => { this.name = n; other.value = ""; this.update(); } }, n)),
      h("label", { class: "other", hidden: names.length ? true : undefined }, "Another name", other),
      names.length ? h("button", { type: "button", class: "link", testid: "signin-other-toggle",
        onclick: (e) => { e.target.hidden = true; other.parentElement.hidden = false; other.focus(); } }, "Someone else…") : null);
    const keys = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "⌫", "0", "OK"];
    const keypad = h("div", { class: "keypad", testid: "keypad" }, keys.map((k) => h("button", {
      type: "button", class: k === "OK" ? "primary key" : "key", testid: k === "OK" ? "pin-ok" : k === "⌫" ? "pin-back" : `key-${k}`,
      onclick: () => this.key(k) }, k)));
    this.root.replaceChildren(
      h("div", { class: "signin" },
        h("h1", {}, "Sign in"),
        h("p", { class: "muted" }, "Tap your name, then your PIN."),
        namePick,
        h("div", { class: "pin", testid: "pin-dots", "aria-live": "polite" }),
        h("p", { class: "error", testid: "signin-error", role: "alert" }),
        keypad));
    this.update();
  }

  /** First run: the owner's name, then the PIN twice on the keypad. */
  showOwner() {
    this.owner = { first: null };
    this.name = null;
    this.pin = "";
    const name = h("input", { id: "owner-name", type: "text", autocomplete: "username", placeholder: "Your name",
      testid: "owner-name", "aria-label": "Owner's name", maxlength: "40" });
    name.addEventListener("input", () => { this.name = name.value.trim() || null; this.update(); });
    const keys = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "⌫", "0", "OK"];
    this.root.replaceChildren(
      h("div", { class: "signin", testid: "owner-setup" },
        h("h1", {}, "Set up this hub"),
        h("p", { class: "muted" }, "Nobody can sign in yet. Create the owner account: the gym's admin, who adds "
          + "instructors, imports the roster and adopts sensors. This is offered once."),
        h("label", { class: "other" }, "Owner's name", name),
        h("p", { class: "muted", testid: "owner-step" }),
        h("div", { class: "pin", testid: "pin-dots", "aria-live": "polite" }),
        h("p", { class: "error", testid: "signin-error", role: "alert" }),
        h("div", { class: "keypad", testid: "keypad" }, keys.map((k) => h("button", {
          type: "button", class: k === "OK" ? "primary key" : "key", testid: k === "OK" ? "pin-ok" : k === "⌫" ? "pin-back" : `key-${k}`,
          onclick: () => this.key(k) }, k)))));
    this.update();
  }

  async submitOwner() {
    const error = this.root.querySelector(".error");
    if (this.owner.first === null) {
      this.owner.first = this.pin;
      this.pin = "";
      this.update();
      return;
    }
    if (this.pin !== this.owner.first) {
      this.owner.first = null;
      this.pin = "";
      this.update();
      error.textContent = "The two PINs differ: choose the PIN again.";
      return;
    }
    this.busy = true;
    this.update();
    try {
      await this.api.send("POST", "/api/owner", { name: this.name, pin: this.pin });
      await this.api.refreshSession();
      remember(this.name);
      this.owner = null;
      this.pin = "";
      await this.onSignedIn();
    } catch (e) {
      this.pin = "";
      this.owner.first = null;
      if (e.status === 409) {  // another tablet made the owner first: sign in instead
        await this.api.refreshSession().catch(() => {});
        this.owner = null;
        await this.show();
      }
      this.root.querySelector(".error").textContent = e.message;
    } finally {
      this.busy = false;
      if (this.root.querySelector("[data-testid=pin-ok]")) this.update();
    }
  }

  key(k) {
    if (this.busy) return;
    if (k === "⌫") this.pin = this.pin.slice(0, -1);
    else if (k === "OK") { if (this.owner) this.submitOwner(); else this.submit(); return; }
    else if (this.pin.length < PIN_MAX) this.pin += k;
    this.root.querySelector(".error").textContent = "";
    this.update();
  }

  update() {
    for (const b of this.root.querySelectorAll("[data-testid=signin-name]")) {
      b.classList.toggle("chosen", b.dataset.name === this.name);
    }
    const dots = this.root.querySelector(".pin");
    dots.replaceChildren(...[...this.pin].map(() => h("span", { class: "dot" })));
    if (this.owner) {
      const step = this.owner.first === null ? "Choose a PIN of 4 to 12 digits, then OK." : "Type the same PIN again, then OK.";
      this.root.querySelector("[data-testid=owner-step]").textContent = step;
      if (!this.pin) dots.append(h("span", { class: "muted" }, this.name ? `PIN for ${this.name}` : "Type your name first"));
    } else if (!this.pin) dots.append(h("span", { class: "muted" }, this.name ? `PIN for ${this.name}` : "Pick your name"));
    this.root.querySelector("[data-testid=pin-ok]").disabled = !this.name || this.pin.length < 4 || this.busy;
  }

  async submit() {
    if (!this.name || this.pin.length < 4) return;
    this.busy = true;
    this.update();
    const error = this.root.querySelector(".error");
    try {
      await this.api.signIn(this.name, this.pin);
      remember(this.name);
      this.pin = "";
      await this.onSignedIn();
    } catch (e) {
      error.textContent = e.message;
      this.pin = "";
    } finally {
      this.busy = false;
      this.update();
    }
  }
}
