// Shared by every page: the Socket.IO connection (served locally from /vendor), the offline banner
// and formatting helpers. The Socket.IO client reconnects by itself after a hub restart or Wi-Fi drop.

export function connect(handlers) {
  // eslint-disable-next-line no-undef
  const socket = io({ transports: ["websocket"], reconnectionDelay: 500, reconnectionDelayMax: 3000 });
  const banner = document.getElementById("offline");
  socket.on("connect", () => { if (banner) banner.classList.remove("show"); document.body.dataset.online = "1"; });
  socket.on("disconnect", (reason) => {
    if (banner) banner.classList.add("show");
    document.body.dataset.online = "0";
    // The hub closes a socket only when the session it was made with ended: come back as a display.
    if (reason === "io server disconnect") socket.connect();
  });
  socket.io.on("reconnect_attempt", () => { if (banner) banner.classList.add("show"); });
  for (const [event, fn] of Object.entries(handlers)) {
    socket.on(event, fn);
  }
  return socket;
}

export function fmtTime(s) {
  if (s === null || s === undefined) return "—";
  return `${s.toFixed(2)} s`;
}

export function fmtClock(s) {
  if (s === null || s === undefined || s < 0) return "--:--";
  const m = Math.floor(s / 60), r = Math.floor(s % 60);
  return `${String(m).padStart(2, "0")}:${String(r).padStart(2, "0")}`;
}

export function statusText(r) {
  switch (r.status) {
    case "OK": return fmtTime(r.time_s);
    case "FALSE_START": return "FALSE START";
    case "DNF": return "DNF";
    case "DQ": return "DQ";
    case "ABORTED": return "ABORTED";
    default: return r.status;
  }
}

export function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") e.className = v; else if (k.startsWith("data")) e.setAttribute(k.replace(/[A-Z]/g, c => "-" + c.toLowerCase()), v);
    else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c);
  return e;
}
