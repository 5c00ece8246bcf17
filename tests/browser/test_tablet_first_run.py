"""First run on the tablet (issue 14): a hub with no users offers to create the owner — no command
line — once; a second tablet that had the offer open is told another tablet was first, and signs in."""

from __future__ import annotations

from dataclasses import replace

import pytest
from playwright.sync_api import Page, expect

from server.app import create_app
from server.auth.roles import Role
from server.auth.users import OWNER_TAKEN, UserStore
from server.config import Config
from tests.browser.test_tablet import check_layout, tablet_page, tid  # noqa: F401

pytestmark = pytest.mark.browser


@pytest.fixture
def new_hub(tmp_path):
    """A hub fresh out of the box: no users, no stations, no MQTT: ``(app, base)``."""
    base = Config()
    config = replace(base, store=replace(base.store, path=str(tmp_path / "hub.db")))
    app = create_app(config, connect_mqtt=False)
    port = app.serve_in_thread("127.0.0.1", 0)
    app.start()
    try:
        yield app, f"http://127.0.0.1:{port}"
    finally:
        app.stop()


def type_pin(page: Page, pin: str) -> None:
    for digit in pin:
        tid(page, f"key-{digit}").tap()
    tid(page, "pin-ok").tap()


def test_the_first_tablet_creates_the_owner_and_the_offer_is_gone(chromium, tablet_page, new_hub):  # noqa: F811
    app, base = new_hub
    page = tablet_page
    page.goto(f"{base}/instructor")
    expect(tid(page, "owner-setup")).to_be_visible()
    check_layout(page, "sign-in")

    # a second tablet opened the same offer meanwhile
    context = chromium.new_context(viewport={"width": 1280, "height": 800}, has_touch=True)
    try:
        late = context.new_page()
        late.goto(f"{base}/instructor")
        expect(tid(late, "owner-setup")).to_be_visible()

        tid(page, "owner-name").fill("Gym Owner")
        type_pin(page, "482913")
        expect(tid(page, "owner-step")).to_contain_text("again")
        type_pin(page, "482910")  # a slip: the PINs differ, start the PIN again
        expect(tid(page, "signin-error")).to_contain_text("differ")
        type_pin(page, "482913")
        type_pin(page, "482913")
        expect(tid(page, "screen-home")).to_be_visible()
        expect(tid(page, "signed-in-as")).to_have_text("Gym Owner")
        owner = UserStore(app.db).find("Gym Owner")
        assert owner is not None and owner.role is Role.ADMIN and UserStore(app.db).count() == 1

        # the late tablet loses the race with a clear message, and is offered the sign-in instead
        tid(late, "owner-name").fill("Someone Else")
        type_pin(late, "1111")
        type_pin(late, "1111")
        expect(tid(late, "signin-error")).to_have_text(OWNER_TAKEN)
        expect(tid(late, "owner-setup")).to_have_count(0)
        expect(tid(late, "keypad")).to_be_visible()
        assert UserStore(app.db).count() == 1
    finally:
        context.close()

    # a reload never offers it again: the owner signs in like anyone
    page.reload()
    expect(tid(page, "screen-home")).to_be_visible()
    tid(page, "sign-out").tap()
    tid(page, "sign-out").tap()
    expect(tid(page, "screen-signin")).to_be_visible()
    expect(tid(page, "owner-setup")).to_have_count(0)
    expect(tid(page, "signin-name", name="Gym Owner")).to_be_visible()
