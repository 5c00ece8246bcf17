"""One browser API client for every page (``web/static/api.js``): the tablet, /setup and the wall load
the same module, and it handles the session, the CSRF token and refusals the same way everywhere."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from server.auth.users import UserStore
from tests.browser.test_tablet_controls import quiet_hub  # noqa: F401  (fixture)

pytestmark = pytest.mark.browser

CALLS = """async () => {
  const { Api, ApiError } = await import("/static/api.js");
  const api = new Api();
  const heard = [];
  api.sessionListeners.push((s) => heard.push(s.signed_in));
  const refused = async (call) => {
    try { await call(); return null; } catch (e) { return { ok: e instanceof ApiError, status: e.status, message: e.message }; }
  };
  const out = {};
  out.anonymous = await refused(() => api.send("POST", "/api/members", { name: "X" }));
  await api.signIn("coach", "4821");
  out.admin = api.isAdmin;
  out.invalid = await refused(() => api.send("POST", "/api/members", { name: "" }));
  out.checkin = await refused(() => api.send("POST", "/api/classes/nope/checkin", {}));
  out.created = (await api.send("POST", "/api/members", { name: "Ada" })).name;
  out.control = await refused(() => api.control("class:go", { class_id: "nope" }));
  await api.signOut();
  out.heard = heard;
  out.after = api.signedIn;
  return out;
}"""


@pytest.mark.parametrize("path", ["/instructor", "/setup", "/display"])
def test_every_page_loads_the_one_client_and_answers_refusals_alike(page: Page, quiet_hub, path):  # noqa: F811
    app, url, _admin = quiet_hub
    UserStore(app.db).create("coach", "instructor", "4821")
    loaded: list[str] = []
    page.on("request", lambda r: loaded.append(r.url.removeprefix(url)))
    page.goto(url + path)  # returns at the load event: the page's module graph has been fetched and run
    assert "/static/api.js" in loaded
    assert not any(u.endswith(("/setup-api.js", "/tablet/api.js")) for u in loaded)
    out = page.evaluate(CALLS)
    assert out["anonymous"] == {"ok": True, "status": 401,
                                "message": "sign in first (POST /api/session with your name and PIN)"}
    assert out["admin"] is False and out["created"] == "Ada"
    # the hub's message, plus the problems it listed that the message does not already name
    assert out["invalid"]["status"] == 400 and out["invalid"]["message"].startswith("invalid member: name:")
    assert "(" not in out["invalid"]["message"]
    assert out["checkin"] == {"ok": True, "status": 400, "message":
                              "say who checks in (member_ids: a non-empty list of member ids (or member_id))"}
    # no socket on a bare client: a clear refusal, not a hang
    assert out["control"] == {"ok": True, "status": 0, "message": "not connected to the hub: wait for the banner to go"}
    assert out["heard"] == [True, False] and out["after"] is False
