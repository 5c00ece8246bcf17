"""The tablet's station cards smooth live frames as the wall does (``LiveSmoother``, web/static/live.js):
within an attempt a revised-down distance or clock does not go back on the card, and a jump further
than the sled could have moved eases in (the card redraws while it does) instead of snapping.

The hub has the demo's stations and no nodes, so in READY nothing moves: the test hands the page's
station cards the hub's own events (``attempt``, ``frames``) for the armed attempt at Sled 1."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.test_tablet import tablet_page, tid  # noqa: F401
from tests.browser.test_tablet_controls import quiet_hub, running_class  # noqa: F401

pytestmark = pytest.mark.browser

PUSH = """([kind, body]) => {
  const cards = window.sledhub.run.cards;
  const entry = window.sledhub.view.heat.find((e) => e.station_id === "sled1");
  if (kind === "attempt") cards.attempt({ station_id: "sled1", attempt_id: entry.attempt_id, ...body });
  else cards.frames({ sled1: { attempt_id: entry.attempt_id, ...body } });
  return document.querySelector('[data-testid="station-status"][data-station="sled1"]').textContent;
}"""


def test_station_cards_never_go_back_and_ease_a_correction_in(tablet_page, quiet_hub):  # noqa: F811
    app, base, admin = quiet_hub
    page = tablet_page
    running_class(page, admin, base, members=4)
    status = tid(page, "station-status", station="sled1")
    # the engine's ARMED for Sled 1's attempt has arrived (the armed push comes first, then the engine's
    # state change with its time; after it nothing comes while nobody moves)
    page.wait_for_function("""() => { const e = window.sledhub.view.heat.find((x) => x.station_id === "sled1");
      const live = window.sledhub.run.cards.live.get("sled1");
      return e && e.attempt_id && live && live.attempt_id === e.attempt_id
        && live.state === "ARMED" && live.t_us > 0; }""", timeout=5_000)
    expect(status).to_have_text("Armed")

    push = lambda kind, **body: page.evaluate(PUSH, [kind, body])  # noqa: E731
    push("attempt", state="RUNNING", t_us=1_000)
    assert push("frames", elapsed_s=2.0, distance_m=5.0, velocity_m_s=2.0, t_us=2_000) == "2.0 s · 5.0 m"
    # a revised frame (lower distance, a clock a little behind): the card holds what it showed
    assert push("frames", elapsed_s=1.9, distance_m=4.2, velocity_m_s=2.0, t_us=2_100) == "2.0 s · 5.0 m"
    # normal progress shows at once
    assert push("frames", elapsed_s=2.04, distance_m=5.1, velocity_m_s=2.0, t_us=2_200) == "2.0 s · 5.1 m"
    # 4.4 m in one frame: a correction, eased in from where the card was, then drawn in full
    assert push("frames", elapsed_s=2.1, distance_m=9.5, velocity_m_s=2.0, t_us=2_300) == "2.1 s · 5.1 m"
    expect(status).to_have_text("2.1 s · 9.5 m", timeout=3_000)
    assert page.evaluate("window.sledhub.run.cards.smoothers.get('sled1').held") == 9.5
