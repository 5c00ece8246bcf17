"""The wall display survives a hub restart: the offline banner shows while the hub is down, hides when
a new hub answers on the same address, and new results appear, all without reloading the page."""

from __future__ import annotations

from tests.display.support import demo_display_hub
from tests.support.waiting import wait_for


def result_ids(page) -> list[str]:
    return page.eval_on_selector_all('[data-testid="result-row"]', "rows => rows.map(r => r.dataset.resultId)")


def test_an_open_display_recovers_from_a_hub_restart_without_a_reload(page, tmp_path, broker):
    banner = page.locator('[data-testid="offline-banner"]')
    with demo_display_hub(tmp_path, broker, history=False) as (_app, base):
        page.goto(f"{base}/display")
        page.wait_for_selector('body[data-synced="1"]', timeout=10_000)
        page.wait_for_selector('[data-testid="tile-sled1"]', timeout=10_000)
        assert banner.is_hidden()
        page.evaluate("window.sameDocument = true")
        port = int(base.rsplit(":", 1)[1])
    banner.wait_for(state="visible", timeout=15_000)
    assert page.locator("body").get_attribute("data-online") == "0"
    before = set(result_ids(page))

    with demo_display_hub(tmp_path, broker, port=port, history=False):
        banner.wait_for(state="hidden", timeout=20_000)
        page.wait_for_selector('body[data-synced="2"]', timeout=10_000)
        fresh = wait_for(lambda: [i for i in result_ids(page) if i not in before], 45,
                         what="a result of the new hub on screen")
        assert page.locator(f'[data-result-id="{fresh[0]}"]').is_visible()
        assert page.evaluate("window.sameDocument") is True  # never reloaded
