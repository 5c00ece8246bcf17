"""``/setup`` in Debian's Chromium, end to end on a real broker: a brand-new (uncalibrated) sled node
appears under "New sensors", is adopted into a station, calibrated with the fake HX711 and a simulated
measured pull, then timed in a free heat whose stored result reflects the calibration."""

from __future__ import annotations

import pytest

from server.auth.roles import Role
from server.auth.users import UserStore
from tests.integration.conftest import make_hub
from tests.setup.simnodes import TRUE_COUNTS_PER_M, TRUE_OFFSET_COUNTS, TRUE_SCALE_COUNTS_PER_N, NewSled
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.broker, pytest.mark.browser]
WIZARD = '[data-testid="wizard"]'


def wizard_at(page, state: str) -> None:
    page.wait_for_selector(f'{WIZARD}[data-state="{state}"]', timeout=10_000)


def raw_of(service, node: str, sensor: str):
    r = service.call(lambda: service.readings.get(node, sensor))
    return None if r is None else r.raw


def settle_load(service, sled: NewSled, mass_kg: float) -> None:
    """Hang ``mass_kg`` and wait until the hub reads it (what the owner does watching the reading)."""
    sled.hang_mass(mass_kg)
    expected = TRUE_OFFSET_COUNTS + mass_kg * 9.80665 * TRUE_SCALE_COUNTS_PER_N
    wait_for(lambda: (raw := raw_of(service, "new-sled", "force")) is not None and abs(raw - expected) < 2, 5,
             what=f"the hub reading {mass_kg} kg")


@pytest.fixture
def hub(tmp_path, broker):
    app, port = make_hub(tmp_path, broker, demo=False)
    service = app.setup
    UserStore(app.db).create("owner", Role.ADMIN, "2468")
    sled = NewSled("new-sled", (broker.host, broker.port))
    try:
        yield app, service, sled, f"http://127.0.0.1:{port}"
    finally:
        sled.stop()
        app.stop()


def test_a_new_sled_is_adopted_calibrated_and_timed(page, hub):
    app, service, sled, base = hub
    page.goto(f"{base}/setup")
    page.fill('[data-testid="signin-name"]', "owner")
    page.fill('[data-testid="signin-pin"]', "2468")
    page.click('[data-testid="signin-submit"]')
    page.wait_for_selector('[data-testid="signed-in"]:has-text("owner")')

    # 1. it switches on and appears under "New sensors", with its live (raw) reading
    sled.start()
    card = page.locator('[data-testid="new-sensors"] [data-testid="node-new-sled"]')
    card.wait_for(timeout=10_000)
    page.wait_for_selector('[data-testid="reading-new-sled-force"]:has-text("raw")', timeout=10_000)
    assert "not calibrated" in card.inner_text()
    sled.roll_m(-0.1)  # the owner nudges the wheel: its reading moves
    page.wait_for_selector('[data-testid="reading-new-sled-wheel"]:has-text("-25 counts")', timeout=5_000)

    # 2. adopt it: a sled station with its load cell and wheel
    page.click('[data-testid="adopt-new-sled"]')
    assert page.input_value('[data-testid="bind-force"]') == "new-sled/force"
    assert page.input_value('[data-testid="bind-wheel"]') == "new-sled/wheel"
    page.fill('[data-testid="station-name"]', "Sled 3")
    page.fill('[data-testid="station-distance"]', "5")
    page.click('[data-testid="station-save"]')
    page.wait_for_selector('[data-testid="station-sled-3"]', timeout=5_000)
    page.wait_for_selector('[data-testid="new-sensors"] [data-testid="node-new-sled"]', state="detached")

    # 3. load cell: zero, a 20 kg weight, a 40 kg check
    settle_load(service, sled, 0.0)
    page.click('[data-testid="calibrate-new-sled-force"]')
    wizard_at(page, "UNLOAD")
    page.click('[data-testid="wizard-measure"]')
    wizard_at(page, "WEIGHT")
    settle_load(service, sled, 20.0)
    page.fill('[data-testid="wizard-mass"]', "20")
    page.click('[data-testid="wizard-measure"]')
    wizard_at(page, "CHECK")
    settle_load(service, sled, 40.0)
    page.fill('[data-testid="wizard-mass"]', "40")
    page.click('[data-testid="wizard-measure"]')
    wizard_at(page, "DONE")
    assert "linearity" not in page.inner_text('[data-testid="wizard-problem"]')
    page.click('[data-testid="wizard-close"]')
    sled.hang_mass(0.0)

    # 4. wheel: start mark, pull 10 m, enter 10
    page.click('[data-testid="calibrate-new-sled-wheel"]')
    wizard_at(page, "MARK")
    page.click('[data-testid="wizard-start"]')
    wizard_at(page, "PULLING")
    sled.roll_m(10.0, speed_m_s=8.0)
    page.wait_for_selector('[data-testid="wizard-counts"]:has-text("2,500 counts")', timeout=5_000)
    page.fill('[data-testid="wizard-distance"]', "10")
    page.click('[data-testid="wizard-finish"]')
    wizard_at(page, "DONE")
    assert "back to its start" in page.inner_text('[data-testid="wizard-message"]')
    page.click('[data-testid="wizard-close"]')
    sled.roll_m(-10.0, speed_m_s=8.0)

    # stored, and the node runs with it (its descriptor says so)
    stored = {c["sensor_id"]: c["params"] for c in page.request.get(f"{base}/api/setup/calibrations").json()}
    assert stored["force"]["scale_counts_per_n"] == pytest.approx(TRUE_SCALE_COUNTS_PER_N, rel=1e-3)
    assert stored["force"]["offset_counts"] == pytest.approx(TRUE_OFFSET_COUNTS, abs=1)
    assert stored["wheel"] == {"counts_per_m": TRUE_COUNTS_PER_M, "invert": False}
    node = next(n for n in page.request.get(f"{base}/api/nodes").json() if n["id"] == "new-sled")
    described = {s["id"]: s["calibration"] for s in node["sensors"]}
    assert described["force"]["scale_counts_per_n"] == stored["force"]["scale_counts_per_n"]
    assert described["wheel"]["counts_per_m"] == TRUE_COUNTS_PER_M
    page.wait_for_selector('[data-testid="reading-new-sled-force"]:has-text(" N")')

    # 5. a free heat: arm, GO, a 300 N pull at 2 m/s over the 5 m
    csrf = {"X-CSRF-Token": page.request.get(f"{base}/api/session").json()["csrf_token"]}
    armed = page.request.post(f"{base}/api/heats", headers=csrf,
                              data={"entries": [{"station_id": "sled-3", "athlete": "Tess"}]})
    assert armed.status == 201, armed.text()
    assert page.request.post(f"{base}/api/heats/go", headers=csrf, data={"station_ids": ["sled-3"]}).status == 202
    engine_state = lambda: service.call(lambda: app.hub.engine.state_of("sled-3").value)  # noqa: E731
    wait_for(lambda: engine_state() == "RUNNING", 10, what="the GO signal")
    sled.roll_m(5.5, speed_m_s=2.0, force_n=300.0)
    results = lambda: page.request.get(f"{base}/api/results?station=sled-3").json()  # noqa: E731
    result = wait_for(results, 10, what="the stored result")[0]
    assert result["status"] == "OK", result
    metrics = result["metrics"]
    assert metrics["distance_m"] == pytest.approx(5.0, abs=0.02)
    assert metrics["peak_force_n"] == pytest.approx(300.0, rel=0.01)
    assert metrics["peak_velocity_m_s"] == pytest.approx(2.0, rel=0.05)  # uncalibrated: 0 N and 2.5x the speed
