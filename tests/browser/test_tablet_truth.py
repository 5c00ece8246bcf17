"""A tablet shows the hub's truth when it joins mid-heat (issue 14): reloaded, or a second tablet
opened while an athlete runs, it shows the running attempt with its clock and an enabled Stop, and
that Stop stops the athlete. The hub has the demo's stations and no nodes: a lane started by GO runs
on the hub's clock alone until it is stopped.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.browser.test_tablet import check_layout, sign_in_with_keypad, tablet_page, tid  # noqa: F401
from tests.browser.test_tablet_controls import known_names, quiet_hub, running_class  # noqa: F401
from tests.support.waiting import wait_for

pytestmark = pytest.mark.browser


def running(app, station_id: str) -> dict | None:
    """The engine's current attempt at ``station_id`` if it is RUNNING."""
    return next((a for a in app.hub.live_attempts() if a["station_id"] == station_id and a["state"] == "RUNNING"),
                None)


def shows_running(page: Page, station_id: str) -> None:
    """The card says a running clock (seconds), not "Armed", and its Stop can be tapped."""
    status = tid(page, "station-status", station=station_id)
    expect(status).to_have_attribute("data-tone", "run", timeout=5_000)
    expect(status).to_contain_text(" s")
    expect(tid(page, "station-stop", station=station_id)).to_be_enabled()


def test_a_reloaded_and_a_second_tablet_show_the_running_athlete_and_stop_them(chromium, tablet_page,  # noqa: F811
                                                                                quiet_hub):  # noqa: F811
    app, base, admin = quiet_hub
    page = tablet_page
    class_id = running_class(page, admin, base, members=4)
    tid(page, "go").tap()
    expect(tid(page, "phase")).to_contain_text("Work")
    wait_for(lambda: running(app, "lane1"), 10, 0.05, "lane1 running after the countdown")
    shows_running(page, "lane1")

    # reload mid-heat: the tablet starts from the hub's snapshot, not "Armed" with Stop disabled
    page.reload()
    expect(tid(page, "screen-run")).to_be_visible()
    shows_running(page, "lane1")
    first = float(tid(page, "station-status", station="lane1").inner_text().split(" s")[0])
    assert first > 0, "the running clock is the hub's elapsed time"

    # a second tablet joining sees the same
    context = chromium.new_context(viewport={"width": 1280, "height": 800}, has_touch=True)
    try:
        other = context.new_page()
        known_names(other, "demo")
        other.goto(f"{base}/instructor")
        sign_in_with_keypad(other, "demo", "1234")
        expect(tid(other, "screen-run")).to_be_visible()
        shows_running(other, "lane1")
        shows_running(other, "lane2")
    finally:
        context.close()

    # a change missed while connecting (the snapshot older than the start) heals with the next live
    # frame: frames come only while an attempt runs
    tone = page.evaluate("""(sid) => { const c = window.sledhub.run.cards; const cur = c.live.get(sid);
        c.live.set(sid, { attempt_id: cur.attempt_id, state: "ARMED", t_us: 0 }); c.paint();
        return c.cards.get(sid).status.dataset.tone; }""", "lane1")
    assert tone == "armed"
    shows_running(page, "lane1")

    # Stop from the reloaded tablet stops that athlete: a timed result, the other lane still runs
    page.bring_to_front()
    tid(page, "station-stop", station="lane1").tap()
    wait_for(lambda: not running(app, "lane1"), 5, 0.05, "lane1 stopped")
    assert running(app, "lane2"), "only the stopped station ends"
    entry = wait_for(lambda: next((e for e in admin.call("GET", f"/api/classes/{class_id}")["heat"]
                                   if e["station_id"] == "lane1" and e["result_id"]), None), 5, 0.05, "lane1's result")
    result = admin.call("GET", f"/api/results/{entry['result_id']}")
    assert result["status"] == "DNF" and result["member_id"] == entry["member_id"], result
    assert result["reason_text"] == "stopped by the instructor"
    expect(tid(page, "tablet-result-row", result_id=result["id"]).locator('[data-testid="result-reason"]')).to_have_text(
        "stopped by the instructor")
    expect(tid(page, "station-stop", station="lane1")).to_be_disabled()
    expect(tid(page, "station-reason", station="lane1")).to_have_text("stopped by the instructor")
    expect(tid(page, "station-reason", station="lane2")).to_be_hidden()
    check_layout(page, "run")  # the reason line fits at both tablet sizes
