"""SIGKILL mid-class: every result and class state announced before the kill is in the database, and
a new service resumes the class at the round it had reached."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from server.classes.service import ClassService
from server.classes.session import Event
from server.store.db import Database
from tests.classes.fakes import FakeHub

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_sigkill_mid_class_loses_nothing_announced(tmp_path, clock):
    db_file = tmp_path / "crash.db"
    child = subprocess.Popen([sys.executable, "-m", "tests.classes.crash_child", str(db_file)], cwd=REPO,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ,
                                                                                             "PYTHONPATH": str(REPO)})
    results, last_class = {}, None
    extra_lines = random.randint(0, 100)  # then kill at an arbitrary point of the child's busy loop
    try:
        for line in child.stdout:  # read until the class is well into round 2
            event = json.loads(line)
            if "result" in event:
                results[event["result"]] = event["time_s"]
            else:
                last_class = event["class"]
            if last_class and last_class[1] >= 2 and len(results) >= 12:
                if extra_lines == 0:
                    break
                extra_lines -= 1
        else:
            raise AssertionError(f"child ended early: {child.stderr.read()}")
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(10)
        child.stdout.close()
        child.stderr.close()
    assert child.returncode == -signal.SIGKILL

    db = Database(db_file)
    try:
        service = ClassService(FakeHub(db, prefix="after"), db, clock=clock)
        stored = {r["id"]: r["time_s"] for r in db.query("SELECT id, time_s FROM results")}
        assert results.items() <= stored.items()  # every announced result survived, unchanged
        view = service.restore()
        assert view["state"] == "PAUSED"
        assert (view["round_no"], view["heat_no"]) >= tuple(last_class[1:])  # at least where it was announced
        assert view["round_no"] >= 2
        finished = {s["result_id"] for s in service.views.view(service.classes.active(), 0)["heat"]} - {None}
        assert finished <= set(stored)
        resumed = service.control(view["id"], Event.RESUME)
        assert resumed["state"] == view["resume_to"] and resumed["round_no"] == view["round_no"]
        assert resumed["state"] in ("READY", "TRANSITION")  # a heat that was running is armed again
    finally:
        db.close()
