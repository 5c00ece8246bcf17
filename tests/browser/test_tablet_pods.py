"""Pods and rotation in the circuit builder (issue 14: "pods and rotation"), in Debian's Chromium: one pod
per station or a number of pods, forward or backward, how many stations a round; the preview says
where each pod stands each round; a step the stations cannot take gets the hub's message next to it;
saved with the circuit. Finger-sized and unclipped at both tablet sizes."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.tablet_layout import check_tablet_controls
from tests.browser.test_tablet import sign_in_with_keypad, tid  # noqa: F401
from tests.browser.test_tablet_circuits import field_error, open_builder, tablet_page  # noqa: F401
from tests.browser.test_tablet_controls import known_names, quiet_hub  # noqa: F401

pytestmark = pytest.mark.browser


def test_the_builder_sets_pods_and_rotation_and_the_preview_shows_them(tablet_page, quiet_hub):  # noqa: F811
    app, base, admin = quiet_hub
    page = tablet_page
    open_builder(page, base)
    tid(page, "template", key="beginner").tap()   # 4 rounds: Reverse sled pull (2 sleds), Backward shuffle (2 lanes)
    expect(tid(page, "pods-rotation")).to_be_visible()
    expect(tid(page, "pods-option", value="auto")).to_have_attribute("aria-pressed", "true")
    where = tid(page, "timeline-where")
    expect(where).to_have_count(4)
    expect(where.nth(0)).to_have_text("pod 1 at Reverse sled pull · pod 2 at Backward shuffle")
    expect(where.nth(1)).to_have_text("pod 1 at Backward shuffle · pod 2 at Reverse sled pull")
    expect(tid(page, "timeline-pods")).to_contain_text("2 pods of 6 · 12 heats")
    expect(tid(page, "timeline-pods")).to_contain_text("pods move 1 station forward each round")

    # three pods on two stations: two pods share a station and take turns
    tid(page, "pods-option", value="set").tap()
    expect(tid(page, "pod_count-value")).to_have_text("2 pods")
    tid(page, "pod_count-plus").tap()
    expect(tid(page, "pod_count-value")).to_have_text("3 pods")
    expect(tid(page, "timeline-pods")).to_contain_text("3 pods of 4 ·")
    expect(where.nth(0)).to_have_text(
        "pod 1 at Reverse sled pull · pod 2 at Backward shuffle · pod 3 at Reverse sled pull")

    # backward
    tid(page, "rotation-option", value="backward").tap()
    expect(tid(page, "timeline-pods")).to_contain_text("pods move 1 station backward each round")
    expect(where.nth(1)).to_have_text(
        "pod 1 at Backward shuffle · pod 2 at Reverse sled pull · pod 3 at Backward shuffle")

    # two stations a round with two stations: the hub says what works, next to the field
    tid(page, "rotation_step-plus").tap()
    expect(field_error(page, "rotation_step")).to_have_text("with 2 stations pods move 1 station a round (got 2)")
    expect(tid(page, "timeline-total")).to_have_text("Fix the marked fields to see the timeline")
    check_tablet_controls(page, "builder with pods and a rotation error")
    tid(page, "rotation_step-minus").tap()
    expect(field_error(page, "rotation_step")).to_have_text("")
    expect(tid(page, "timeline-total")).to_contain_text("Up to")
    check_tablet_controls(page, "builder with pods and rotation")

    tid(page, "circuit-name").fill("Three pods back")
    tid(page, "circuit-save").tap()
    expect(tid(page, "toast")).to_contain_text("Saved: Three pods back")
    (saved,) = admin.call("GET", "/api/circuits")
    assert (saved["pods"], saved["rotation"], saved["rotation_step"]) == (3, "backward", 1)
