"""The suite's markers: ``-m "not browser and not broker"`` starts no Chromium and no Mosquitto."""

from __future__ import annotations

import pytest

from tests.conftest import LaunchGuard


@pytest.mark.parametrize(("executable", "args", "marker"), [
    ("/usr/sbin/mosquitto", ["/usr/sbin/mosquitto", "-c", "m.conf"], "broker"),
    (None, "mosquitto -c m.conf", "broker"),
    ("/x/site-packages/playwright/driver/node", ["/x/site-packages/playwright/driver/node", "cli.js"], "browser"),
    ("/usr/bin/chromium", ["/usr/bin/chromium", "--headless"], "browser"),
    ("/usr/bin/mosquitto_pub", ["mosquitto_pub", "-t", "x"], None),
    (b"/usr/bin/python3", [b"/usr/bin/python3", b"-c", b"pass"], None),
])
def test_the_guard_knows_what_needs_a_marker(executable, args, marker):
    assert LaunchGuard.marker_for(executable, args) == marker


def test_an_unmarked_test_that_starts_a_broker_is_caught(request):
    guard = LaunchGuard(current=request.node)
    guard.audit("subprocess.Popen", ("/usr/sbin/mosquitto", ["/usr/sbin/mosquitto", "-c", "m.conf"], None, None))
    guard.audit("os.system", ("mosquitto",))  # other events are not launches it watches
    assert guard.violations == {request.node.nodeid: ["broker ('/usr/sbin/mosquitto')"]}


@pytest.mark.broker
def test_a_marked_test_may_start_a_broker(request):
    guard = LaunchGuard(current=request.node)
    guard.audit("subprocess.Popen", ("/usr/sbin/mosquitto", ["/usr/sbin/mosquitto"], None, None))
    assert guard.violations == {}

