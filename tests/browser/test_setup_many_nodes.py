"""/setup in Chromium with 255 unknown nodes of 32 sensors each (a flood of fake announcements): the
page stays small (it built 171k elements, 669k px, before), a node is found by name and forgotten."""

from __future__ import annotations

import pytest

from server.auth.roles import Role
from server.auth.users import UserStore
from server.protocol import MAX_NODES
from tests.integration.conftest import make_hub
from tests.setup.test_forget_nodes import SENSORS_32, flood, known
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.broker, pytest.mark.browser]


@pytest.fixture
def hub(tmp_path, broker):
    app, port = make_hub(tmp_path, broker, demo=False)
    UserStore(app.db).create("owner", Role.ADMIN, "2468")
    try:
        yield app, f"http://127.0.0.1:{port}"
    finally:
        app.stop()


def test_setup_with_hundreds_of_unknown_nodes_stays_usable(page, hub):
    app, base = hub
    flood(app, MAX_NODES - 1, sensors=SENSORS_32)
    wait_for(lambda: len(known(app)) == MAX_NODES - 1, 10, what="the flood at the hub")
    page.goto(f"{base}/setup")
    page.fill('[data-testid="signin-name"]', "owner")
    page.fill('[data-testid="signin-pin"]', "2468")
    page.click('[data-testid="signin-submit"]')
    page.wait_for_selector('[data-testid="signed-in"]:has-text("owner")')
    page.wait_for_selector('[data-testid="more-new-nodes-title"]:has-text("247 more new node(s)")', timeout=10_000)
    assert page.locator('[data-testid="new-sensors"] .card').count() == 8
    elements = page.evaluate("document.getElementsByTagName('*').length")
    height = page.evaluate("document.documentElement.scrollHeight")
    assert elements < 10_000 and height < 40_000, (elements, height)

    page.click('[data-testid="more-new-nodes-title"]')
    page.fill('[data-testid="node-find"]', "fake017")
    card = page.locator('[data-testid="new-sensors"] [data-testid="node-fake017"]')
    card.wait_for(timeout=10_000)
    page.click('[data-testid="forget-fake017"]')
    card.wait_for(state="detached", timeout=10_000)
    assert "fake017" not in known(app)
    page.wait_for_selector('[data-testid="notice"]:has-text("Forgot fake017")')
