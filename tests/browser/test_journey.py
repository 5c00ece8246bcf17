"""A new gym's first hour, end to end in Debian's Chromium on a real broker (issue 14): the first tablet
creates the owner account (first run, no command line), the owner adopts the simulated sensor nodes
as stations on /setup, builds a 3-station circuit on the tablet,
imports the roster CSV, checks 20 members in, runs the class (GO, pause, a correction) while the wall
shows it, and exports the results.

It fails on any console error (tablet, wall, setup), on any clipped text on the wall or the tablet,
and on any tablet control under 48 px or closer than 8 px to the next (``tablet_layout.py``). It
prints the taps and the time for: building the circuit, checking in 20 members, running one round.
``SLEDHUB_SCREENSHOTS=docs/img`` refreshes the screenshots of docs/instructor.md and the README from it.
"""

from __future__ import annotations

import csv
import io
import os
import threading
import time
import zlib
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect

from server.auth.roles import Role
from server.auth.users import UserStore
from server.sim.roster import DemoAthlete, demo_roster
from server.sim.stations import SimLane, SimSled
from tests.browser.tablet_layout import LANDSCAPE, PORTRAIT, console_watch, measure, tablet_problems
from tests.integration.conftest import make_hub
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.browser, pytest.mark.broker, pytest.mark.slow]

OWNER, OWNER_PIN = "owner", "975310"
SLEDS = (("sim-sled-a", "Sled A"), ("sim-sled-b", "Sled B"))
LANES = (("sim-lane-1", "Lane 1"), ("sim-lane-2", "Lane 2"), ("sim-lane-3", "Lane 3"), ("sim-lane-4", "Lane 4"))
SLED_DISTANCE_M = 10.0
"""The simulated sleds' course: the athletes pull it (+0.5 m follow-through); the circuit says 10 m."""
ROSTER = [("Ava Stone", "Rocket"), ("Ben Ortiz", "Moose"), ("Cleo Park", "Kiwi"), ("Dev Singh", "Blaze"),
          ("Eli Novak", "Tank"), ("Fay Lund", "Pixie"), ("Gus Reyes", "Viper"), ("Hana Ito", "Bear"),
          ("Ivo Berg", "Comet"), ("Jade Kim", "Maple"), ("Kofi Mensah", "Falcon"), ("Lena Vogel", "Otter"),
          ("Mia Rossi", "Flash"), ("Noah Clarke", "Bolt"), ("Omar Haddad", "Lynx"), ("Priya Nair", "Nova"),
          ("Quinn Walsh", ""), ("Rosa Diaz", "Storm"), ("Sam Okafor", "Ridge"), ("Bisola Adeyemi", "Bisola")]
SHOTS = os.environ.get("SLEDHUB_SCREENSHOTS")


class Gym:
    """The gym's simulated sensor nodes (real bridge code on simulated pins), not bound to anything
    until the owner adopts them; on every GO the member up at a station runs there (as in the demo)."""

    def __init__(self, app, broker):
        addr = (broker.host, broker.port)
        self.app = app
        self.sims = [SimSled("", node, addr, distance_m=SLED_DISTANCE_M, seed=21 + i) for i, (node, _) in enumerate(SLEDS)]
        self.sims += [SimLane("", node, addr, seed=31 + i) for i, (node, _) in enumerate(LANES)]
        self.stop_event = threading.Event()
        self.threads: list[threading.Thread] = []
        app.hub.go_listeners.append(self.on_go)

    def start(self) -> None:
        for sim in self.sims:
            sim.start()

    def bind(self, stations: list[dict]) -> None:
        """Which station each node became on /setup."""
        by_node = {b["node_id"]: s["id"] for s in stations for b in s["bindings"]}
        for sim in self.sims:
            sim.station_id = by_node[sim.node_id]

    def athlete(self, station_id: str) -> DemoAthlete:
        current = self.app.hub.book.current(station_id)
        name = current.athlete if current else ""
        return demo_roster(seed=zlib.crc32(name.encode()), size=1)[0]

    def on_go(self, signals: dict[str, int]) -> None:
        """Pipeline thread: only starts threads (hub clock µs and ``time.monotonic()`` share an origin)."""
        for sim in self.sims:
            if sim.station_id in signals and not self.stop_event.is_set():
                th = threading.Thread(target=sim.perform, name=f"journey-sim-{sim.station_id}", daemon=True,
                                      args=(self.athlete(sim.station_id), signals[sim.station_id] / 1e6, self.stop_event))
                th.start()
                self.threads.append(th)

    def stop(self) -> None:
        self.stop_event.set()
        for th in self.threads:
            th.join(10)
        for sim in self.sims:
            sim.stop()


@pytest.fixture
def new_gym(tmp_path, broker):
    app, port = make_hub(tmp_path, broker, demo=False)
    gym = Gym(app, broker)
    try:
        yield app, gym, f"http://127.0.0.1:{port}"
    finally:
        gym.stop()
        app.stop()


class Taps:
    """Counts what a person does: taps, and fields typed into (each counted once)."""

    def __init__(self) -> None:
        self.taps = 0
        self.typed = 0

    def tap(self, target: Locator) -> None:
        target.tap()
        self.taps += 1

    def type(self, target: Locator, text: str) -> None:
        target.fill(text)
        self.typed += 1


def tid(page: Page, testid: str, **data: str) -> Locator:
    extra = "".join(f'[data-{k.replace("_", "-")}="{v}"]' for k, v in data.items())
    return page.locator(f'[data-testid="{testid}"]{extra}')


def shot(page: Page, name: str) -> None:
    """Refresh a docs screenshot, only when asked (written here: Playwright's own file writing starts
    an executor thread that outlives the test)."""
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        (Path(SHOTS) / name).write_bytes(page.screenshot())


def wall_clipped(wall: Page, where: str) -> list[str]:
    m = measure(wall)
    return [f"wall, {where}: clipped text: {c}" for c in m["clipped"]] + (
        [f"wall, {where}: {m['overflow']} px wider than the screen"] if m["overflow"] > 0 else [])


def adopt_on_setup(page: Page, gym: Gym, base: str) -> None:
    """The owner signs in on /setup and makes a station of each new node."""
    page.goto(f"{base}/setup")
    page.fill('[data-testid="signin-name"]', OWNER)
    page.fill('[data-testid="signin-pin"]', OWNER_PIN)
    page.click('[data-testid="signin-submit"]')
    page.wait_for_selector(f'[data-testid="signed-in"]:has-text("{OWNER}")')
    gym.start()
    for node, name in SLEDS + LANES:
        card = page.locator(f'[data-testid="new-sensors"] [data-testid="node-{node}"]')
        card.wait_for(timeout=15_000)
        page.click(f'[data-testid="adopt-{node}"]')
        page.fill('[data-testid="station-name"]', name)
        if node.startswith("sim-sled"):
            page.fill('[data-testid="station-distance"]', f"{SLED_DISTANCE_M:g}")
        page.click('[data-testid="station-save"]')
        card.wait_for(state="detached", timeout=10_000)


def build_circuit(page: Page, t: Taps) -> None:
    """Three stations: both sleds side by side, lanes 1–2, lanes 3–4; 20/5 s, three rounds, 10 m sleds,
    false starts warned and kept."""
    t.tap(tid(page, "open-circuits"))
    t.tap(tid(page, "circuit-new"))
    t.type(tid(page, "circuit-name"), "Tue 6 am warm-up")
    for _ in range(3):
        t.tap(tid(page, "rest_s-minus"))                      # 20 → 5 s
    for _ in range(2):
        t.tap(tid(page, "rounds-plus"))                       # 1 → 3 rounds
    t.tap(tid(page, "add-station"))                           # 1: every sled (the free ones)
    for _ in range(5):
        t.tap(tid(page, "stations[0].distance_m-minus"))      # 15 → 10 m
    t.tap(tid(page, "add-station"))                           # 2: every lane ...
    station = lambda i: tid(page, "circuit-station", index=str(i))  # noqa: E731
    for sid in ("lane-3", "lane-4"):                          # ... but lanes 3 and 4
        t.tap(station(1).locator(f'[data-testid="station-pick"][data-station-id="{sid}"]'))
    t.tap(tid(page, "add-station"))                           # 3: nothing free: a sled with none ...
    t.tap(station(2).locator('[data-testid="stations[2].kind-option"][data-value="lane"]'))  # → lanes 3, 4
    for i in range(3):
        t.tap(station(i).locator(f'[data-testid="stations[{i}].false_start_policy-option"][data-value="WARN_KEEP"]'))
    expect(tid(page, "timeline-total")).to_contain_text("Up to")
    expect(page.locator('[data-testid="field-error"]:not(:empty)')).to_have_count(0)
    t.tap(tid(page, "circuit-save"))
    expect(tid(page, "circuit-row")).to_have_count(1)


def test_a_new_gym_runs_its_first_class(chromium, new_gym, tmp_path):
    app, gym, base = new_gym
    problems: list[str] = []
    figures: dict[str, str] = {}

    context = chromium.new_context(viewport=PORTRAIT, has_touch=True, device_scale_factor=1)
    setup_context = chromium.new_context(viewport={"width": 1280, "height": 900})
    wall_context = chromium.new_context(viewport={"width": 1920, "height": 1080})
    page, setup, wall = context.new_page(), setup_context.new_page(), wall_context.new_page()
    errors = console_watch(page)
    setup_errors, wall_errors = console_watch(setup), console_watch(wall)
    try:
        # 0. first run: the first tablet opened on a hub with no users creates the owner (an admin) —
        # no command line; the name once, the PIN twice on the keypad
        page.goto(f"{base}/instructor")
        expect(tid(page, "owner-setup")).to_be_visible()
        problems += tablet_problems(page, "first run")
        owner = Taps()
        started = time.monotonic()
        owner.type(tid(page, "owner-name"), OWNER)
        for _ in range(2):  # the PIN, then the same again
            for digit in OWNER_PIN:
                owner.tap(tid(page, f"key-{digit}"))
            owner.tap(tid(page, "pin-ok"))
        expect(tid(page, "screen-home")).to_be_visible()
        figures["create the owner"] = f"{owner.taps} taps + {owner.typed} name typed, {time.monotonic() - started:.1f} s"
        assert [(u.name, u.role) for u in UserStore(app.db).all()] == [(OWNER, Role.ADMIN)]

        # 1. the owner adopts the simulated nodes as stations on /setup
        adopt_on_setup(setup, gym, base)
        stations = app.hub.stations.all()
        assert sorted(s.name for s in stations) == sorted(n for _, n in SLEDS + LANES)
        gym.bind([s.to_dict() for s in stations])
        setup.close()
        wall.goto(f"{base}/display")

        # 2. back on the tablet: the owner is still signed in there (the account was made on it)
        page.goto(f"{base}/instructor")
        expect(tid(page, "screen-home")).to_be_visible()
        expect(tid(page, "signed-in-as")).to_have_text(OWNER)
        problems += tablet_problems(page, "home, nothing yet")

        # 3. a 3-station circuit on the tablet
        build = Taps()
        started = time.monotonic()
        build_circuit(page, build)
        figures["build a 3-station circuit"] = (f"{build.taps} taps + {build.typed} name typed, "
                                                f"{time.monotonic() - started:.1f} s")
        (circuit,) = app.classes.circuits.all()
        spec = circuit.circuit
        assert [cs.station_ids for cs in spec.stations] == [("sled-a", "sled-b"), ("lane-1", "lane-2"), ("lane-3", "lane-4")]
        assert (spec.work_s, spec.rest_s, spec.rounds, spec.stations[0].distance_m) == (20, 5, 3, SLED_DISTANCE_M)
        problems += tablet_problems(page, "circuits")
        tid(page, "circuits-back").tap()

        # 4. the roster from a CSV
        roster = tmp_path / "roster.csv"
        roster.write_text("name,nickname,opt_out\n" + "".join(f"{n},{k},no\n" for n, k in ROSTER), encoding="utf-8")
        tid(page, "open-roster").tap()
        tid(page, "roster-import").set_input_files(str(roster))
        expect(tid(page, "roster-member")).to_have_count(len(ROSTER))
        problems += tablet_problems(page, "roster")
        shot(page, "tablet-roster.png")
        tid(page, "roster-back").tap()
        shot(page, "tablet-home.png")

        # 5. check 20 members in
        tid(page, "circuit", circuit_id=circuit.id).tap()
        buttons = tid(page, "checkin-member")
        expect(buttons).to_have_count(len(ROSTER))
        checkin = Taps()
        started = time.monotonic()
        for i in range(len(ROSTER)):
            checkin.tap(buttons.nth(i))
        expect(page.locator('[data-testid="checkin-member"][data-checked="true"]:not(.pending)')).to_have_count(len(ROSTER))
        figures["check in 20 members"] = f"{checkin.taps} taps, {time.monotonic() - started:.1f} s"
        problems += tablet_problems(page, "check-in")
        shot(page, "tablet-checkin.png")

        # 6. run the class: GO, pause, resume, a correction; round 1 to its end
        tid(page, "start-class").tap()
        expect(tid(page, "phase")).to_contain_text("Ready")
        problems += tablet_problems(page, "run, ready")
        class_id = page.evaluate("window.sledhub.view.id")
        run = Taps()
        started = time.monotonic()
        run.tap(tid(page, "go"))
        expect(tid(page, "phase")).to_contain_text("Work")
        run.tap(tid(page, "pause"))
        expect(tid(page, "phase")).to_contain_text("Paused")
        run.tap(tid(page, "resume"))
        expect(tid(page, "phase")).not_to_contain_text("Paused")

        def results() -> list[dict]:
            return [r.to_dict() for r in app.hub.results.recent(1000, class_id=class_id)]

        timed = wait_for(lambda: [r for r in results() if r["status"] == "OK"], 60, 0.2, "a timed result")
        problems += wall_clipped(wall, "during the first heat")
        target = timed[0]
        row = tid(page, "tablet-result-row", result_id=target["id"])
        run.tap(row)
        expect(tid(page, "correction-sheet")).to_be_visible()
        run.tap(tid(page, "time-plus-0.1"))
        run.tap(tid(page, "fix-reason", reason="timing error"))
        corrected_text = tid(page, "fix-time").text_content()
        problems += tablet_problems(page, "correction")
        shot(page, "tablet-correct.png")
        run.tap(tid(page, "fix-save"))
        expect(row).to_contain_text(corrected_text)
        corrected = wait_for(lambda: (r := app.hub.results.get(target["id"])) and r.to_dict().get("correction")
                             and r.to_dict()["time_s"], 5, 0.05, "the correction stored")
        assert corrected == pytest.approx(float(corrected_text.split()[0]), abs=1e-6)  # what the sheet showed
        wait_for(lambda: page.evaluate("window.sledhub.view.round_no") == 2, 240, 0.2, "round 1 over")
        figures["run one round"] = f"{run.taps} taps (GO, pause, resume, a correction of 4), {time.monotonic() - started:.1f} s"
        problems += tablet_problems(page, "run, round 2")
        shot(page, "tablet-portrait.png")
        page.set_viewport_size(LANDSCAPE)
        shot(page, "tablet-run.png")
        page.set_viewport_size(PORTRAIT)
        problems += wall_clipped(wall, "round 2")
        if SHOTS:
            (Path(SHOTS) / "display.png").write_bytes(wall.screenshot())

        first_round = [r for r in results() if r["status"] != "ABORTED"]
        assert len(first_round) >= len(ROSTER), f"{len(first_round)} results after round 1"
        assert sum(r["status"] == "OK" for r in first_round) >= len(ROSTER) * 0.7, [r["status"] for r in first_round]

        # 7. finish (two taps) and export the results
        tid(page, "finish").tap()
        tid(page, "finish").tap()
        expect(tid(page, "screen-done")).to_be_visible()
        problems += tablet_problems(page, "done")
        export = tid(page, "export-results")
        answer = page.request.get(base + export.get_attribute("href"))
        assert answer.status == 200 and answer.headers["content-type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(answer.text())))
        assert len(rows) == len(results())
        fixed = next(r for r in rows if r["corrected"])
        assert (fixed["time_s"], fixed["corrected"]) == (f"{corrected:.3f}", "edit_time: timing error")
        assert {r["station"] for r in rows} <= {n for _, n in SLEDS + LANES}
        problems += wall_clipped(wall, "after class")
    finally:
        for name, value in figures.items():
            print(f"journey: {name}: {value}")
        context.close()
        setup_context.close()
        wall_context.close()
    assert not problems, "\n".join(problems)
    assert not errors, f"console errors on the tablet: {errors}"
    assert not setup_errors, f"console errors on /setup: {setup_errors}"
    assert not wall_errors, f"console errors on the wall: {wall_errors}"
