"""The wall display survives a hub restart: the offline banner shows while the hub is down, hides when
a new hub answers on the same address and database, the page picks up the hub's state again, and new
results appear, all without reloading the page."""

from __future__ import annotations

from tests.display.support import inject_result, serving_hub
from tests.support.waiting import wait_for


def test_an_open_display_recovers_from_a_hub_restart_without_a_reload(page, tmp_path):
    banner = page.locator('[data-testid="offline-banner"]')
    with serving_hub(tmp_path) as (app, base):
        first = inject_result(app, "sled1", "Kiwi", time_s=6.2)
        page.goto(f"{base}/display")
        page.wait_for_selector('body[data-synced="1"]', timeout=10_000)
        page.wait_for_selector(f'[data-result-id="{first.id}"]', timeout=5_000)
        assert banner.is_hidden()
        page.evaluate("window.sameDocument = true")
        port = int(base.rsplit(":", 1)[1])
    banner.wait_for(state="visible", timeout=15_000)
    assert page.locator("body").get_attribute("data-online") == "0"

    with serving_hub(tmp_path, port=port) as (app, _base):  # the same address and database
        banner.wait_for(state="hidden", timeout=20_000)
        page.wait_for_selector('body[data-synced="2"]', timeout=10_000)
        assert page.locator(f'[data-result-id="{first.id}"]').is_visible()  # state picked up again
        app.hub.arm([("lane1", "Moose", None, "c1")])
        wait_for(lambda: page.locator('[data-testid="tile-athlete-lane1"]').inner_text() == "Moose", 5,
                 what="a live push of the new hub")
        fresh = inject_result(app, "lane1", "Moose", time_s=8.4)
        page.wait_for_selector(f'[data-result-id="{fresh.id}"]', timeout=5_000)
        assert "8.40 s" in page.locator('[data-testid="tile-lane1"]').inner_text()
        assert page.evaluate("window.sameDocument") is True  # never reloaded
        app.hub.abort("lane1")
