// Small DOM helpers for the tablet page: element builder, toasts, bottom sheets, two-tap confirms.

/** h("button", {class: "big", dataset: {testid: "go"}, onclick: fn}, "GO") */
export function h(tag, props = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") e.className = v;
    else if (k === "dataset") Object.assign(e.dataset, v);
    else if (k === "testid") e.dataset.testid = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else if (k === "text") e.textContent = v;
    else if (v === true) e.setAttribute(k, "");
    else e.setAttribute(k, v);
  }
  for (const c of children.flat()) if (c !== null && c !== undefined && c !== false) e.append(c);
  return e;
}

export const $ = (id) => document.getElementById(id);

let toastTimer = 0;
/** A short message at the bottom; errors stay longer. */
export function toast(message, kind = "info") {
  const t = $("toast");
  t.textContent = message;
  t.dataset.kind = kind;
  t.classList.add("show");
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => t.classList.remove("show"), kind === "error" ? 6000 : 2500);
}

/** A button that needs a second tap within 3 s (Finish, Sign out, Abort, Skip during rest): no dialogs,
 * no keyboard. ``label``: the first tap's question (a string, or a function asked at that tap);
 * ``when()`` (optional): false means no confirm is needed now and one tap acts. */
export function confirmTap(button, label, action, { when = () => true } = {}) {
  let armed = 0;
  let normal = button.textContent;
  const disarm = () => {
    clearTimeout(armed);
    armed = 0;
    button.textContent = normal;
    button.classList.remove("confirming");
  };
  button.addEventListener("click", () => {
    if (armed) {
      disarm();
      action();
      return;
    }
    if (!when()) {
      action();
      return;
    }
    normal = button.textContent;
    button.textContent = typeof label === "function" ? label() : label;
    button.classList.add("confirming");
    armed = setTimeout(disarm, 3000);
  });
  return { disarm: () => { if (armed) disarm(); } };
}

/** The one bottom sheet (pickers, corrections). ``open(title, body)``; closes on the scrim or ✕. */
export class Sheet {
  constructor(root) {
    this.root = root;
    this.title = root.querySelector("[data-part=title]");
    this.body = root.querySelector("[data-part=body]");
    this.onClose = null;
    root.querySelector("[data-part=close]").addEventListener("click", () => this.close());
    root.querySelector("[data-part=scrim]").addEventListener("click", () => this.close());
  }

  open(title, body, testid = "sheet", onClose = null) {
    if (this.onClose) this.onClose();
    this.title.textContent = title;
    this.body.replaceChildren(body);
    this.root.dataset.testid = testid;
    this.root.hidden = false;
    this.onClose = onClose;
  }

  get isOpen() { return !this.root.hidden; }

  close() {
    this.root.hidden = true;
    this.body.replaceChildren();
    const done = this.onClose;
    this.onClose = null;
    if (done) done();
  }
}
