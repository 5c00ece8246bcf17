"""Skip during the rest (issue 14: it started the next heat at once, with no undo or warning): the first
tap asks what it will do ("Start heat 2 now — skip 60 s of rest?"), only a second tap within 3 s does
it, and the question goes away by itself. Skip during work still ends the interval with one tap."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.test_tablet import CIRCUIT, MEMBERS, sign_in_with_keypad, tablet_page, tid  # noqa: F401
from tests.browser.tablet_layout import check_tablet_controls
from tests.browser.test_tablet_controls import known_names, quiet_hub, state  # noqa: F401

pytestmark = pytest.mark.browser


def test_skip_during_the_rest_asks_first_and_says_what_it_will_do(tablet_page, quiet_hub):  # noqa: F811
    app, base, admin = quiet_hub
    page = tablet_page
    # 8 members, 2 circuit stations of 2: pods of 4 → two heats a round; a long rest that will not end by itself
    circuit = admin.call("POST", "/api/circuits", {**CIRCUIT, "rounds": 2, "rest_s": 60})
    for name, nick in MEMBERS:
        admin.call("POST", "/api/members", {"name": name, "nickname": nick})
    known_names(page, "demo")
    page.goto(f"{base}/instructor")
    sign_in_with_keypad(page, "demo", "1234")
    tid(page, "circuit", circuit_id=circuit["id"]).tap()
    for i in range(len(MEMBERS)):
        tid(page, "checkin-member").nth(i).tap()
    expect(tid(page, "checkin-count")).to_have_text(str(len(MEMBERS)))
    tid(page, "start-class").tap()
    expect(tid(page, "phase")).to_contain_text("Ready")
    class_id = page.evaluate("window.sledhub.view.id")

    # work: one tap on Skip ends the interval (nothing to lose: the rest follows)
    tid(page, "go").tap()
    expect(tid(page, "phase")).to_contain_text("Work")
    tid(page, "skip").tap()
    expect(tid(page, "phase")).to_contain_text("Rest")
    assert state(admin, class_id) == "TRANSITION"

    # rest: the first tap asks, naming the heat and the rest it cuts short; nothing happens yet
    skip = tid(page, "skip")
    skip.tap()
    expect(skip).to_have_text(re.compile(r"^Start heat 2 now — skip (59|60) s of rest\?$"))
    expect(skip).to_have_class(re.compile(r"\bconfirming\b"))
    assert state(admin, class_id) == "TRANSITION"
    check_tablet_controls(page, "skip asking")
    # left alone, the question goes away and the rest goes on
    expect(skip).to_have_text("Skip", timeout=5_000)
    assert state(admin, class_id) == "TRANSITION"

    # asked and confirmed: heat 2 starts at once
    skip.tap()
    expect(skip).to_contain_text("Start heat 2 now")
    skip.tap()
    expect(tid(page, "phase")).to_contain_text("Work")
    expect(tid(page, "round")).to_contain_text("Heat 2 of 2")
    assert state(admin, class_id) == "WORK"
    expect(skip).to_have_text("Skip")

    # the rest before round 2: the question names the round
    skip.tap()
    expect(tid(page, "phase")).to_contain_text("Rest")
    skip.tap()
    expect(skip).to_contain_text("Start round 2 now — skip")


QUESTIONS = """async () => {
  const { skipQuestion } = await import("/static/tablet/run.js");
  const view = (round_no, heat_no, auto_go = true) => ({ round_no, heat_no, circuit: { auto_go } });
  return [skipQuestion(view(1, 3), 12.2), skipQuestion(view(2, 1), 19.99), skipQuestion(view(1, 2, false), 4),
          skipQuestion(view(1, 2), 0.2), skipQuestion(view(1, 2), null)];
}"""


def test_the_skip_question_names_the_heat_or_round_and_the_rest_left(tablet_page, quiet_hub):  # noqa: F811
    app, base, admin = quiet_hub
    tablet_page.goto(f"{base}/instructor")
    assert tablet_page.evaluate(QUESTIONS) == [
        "Start heat 3 now — skip 13 s of rest?",       # whole seconds, rounded up as the clock shows them
        "Start round 2 now — skip 20 s of rest?",      # the rest before a round
        "Heat 2 up now — skip 4 s of rest?",           # a circuit that waits for GO: the heat only comes up
        "Start heat 2 now — skip 1 s of rest?",
        "Start heat 2 now — skip rest?",               # no clock known
    ]
