"""A hub restart mid-class: a new service on the same database file resumes the same round and heat,
with every finished result kept."""

from __future__ import annotations

from server.classes.service import ClassService
from server.classes.session import Event
from server.store.db import Database
from tests.classes.fakes import FakeHub
from tests.classes.test_service import started


def run_to_round_two(service, hub, clock, circuit_id, members):
    view = started(service, circuit_id, members)
    service.control(view["id"], Event.GO)
    while service.current()["round_no"] < 2:
        hub.finish_all()
        clock.advance(10)
        service.tick()
    hub.finish("sled1", 4.2)  # round 2, heat 1: the sled is done, both lanes still running
    return view["id"]


def test_restart_resumes_round_two_with_results_intact(service, hub, clock, db_path, circuit_id, members):
    class_id = run_to_round_two(service, hub, clock, circuit_id, members)
    before = service.current()
    results_before = {r.id: r.time_s for r in hub.results.recent(100, class_id=class_id)}
    assert (before["state"], before["round_no"], before["heat_no"]) == ("WORK", 2, 1)

    db2 = Database(db_path)  # "the process died": a new hub and service on the same file
    try:
        hub2 = FakeHub(db2, prefix="t2")
        service2 = ClassService(hub2, db2, clock=clock)
        view = service2.restore()
        assert (view["state"], view["resume_to"], view["round_no"], view["heat_no"]) == ("PAUSED", "READY", 2, 1)
        assert {r.id: r.time_s for r in hub2.results.recent(100, class_id=class_id)} == results_before
        statuses = {s["station_id"]: s["status"] for s in view["heat"]}
        assert statuses == {"sled1": "finished", "lane1": "lost", "lane2": "lost"}
        assert hub2.calls == []  # nothing armed until the instructor resumes

        view = service2.control(class_id, Event.RESUME)
        assert view["state"] == "READY" and [c[0] for c in hub2.calls] == ["arm"]
        assert [s for s, _ in hub2.calls[0][1]] == ["lane1", "lane2"]  # only the lost ones run again
        service2.control(class_id, Event.GO)
        hub2.finish_all()
        assert service2.current()["state"] == "TRANSITION" and service2.current()["heat_no"] == 2
    finally:
        db2.close()


def test_restart_during_rest_keeps_the_rest(service, hub, clock, db_path, circuit_id, members):
    view = started(service, circuit_id, members)
    service.control(view["id"], Event.GO)
    hub.finish_all()
    db2 = Database(db_path)
    try:
        service2 = ClassService(FakeHub(db2, prefix="t2"), db2, clock=clock)
        back = service2.restore()
        assert (back["state"], back["resume_to"], back["heat_no"]) == ("PAUSED", "TRANSITION", 2)
        assert back["clock"]["remaining_s"] == 10.0
        resumed = service2.control(view["id"], Event.RESUME)
        assert resumed["state"] == "TRANSITION"
        assert service2.hub.calls[0][0] == "arm"  # the next heat is armed again for the new process
    finally:
        db2.close()


def test_restore_with_no_running_class_does_nothing(service):
    assert service.restore() is None
