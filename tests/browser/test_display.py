"""The wall display in Debian's Chromium: a result of the running demo class appears on screen."""

from __future__ import annotations

import json
import urllib.request

from tests.integration.conftest import demo_hub  # noqa: F401  (fixture)


def test_display_shows_a_result_arriving_live(page, demo_hub):  # noqa: F811
    app, base = demo_hub
    page.goto(f"{base}/display")
    page.wait_for_selector('[data-testid="tile-sled1"]', timeout=10_000)
    row = page.locator('[data-testid="result-row"]').first
    row.wait_for(timeout=60_000)
    shown_id = row.get_attribute("data-result-id")
    with urllib.request.urlopen(f"{base}/api/results", timeout=5) as r:
        stored = {x["id"]: x for x in json.loads(r.read())}
    assert shown_id in stored
    text = row.inner_text()
    assert stored[shown_id]["athlete"] in text
    assert page.locator('[data-testid="offline-banner"]').is_hidden()
