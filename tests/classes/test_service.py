"""The class service on a fake hub: arming, GO, results, the interval clock, controls, roster changes."""

from __future__ import annotations

import threading

import pytest

from server.errors import Conflict, InvalidInput, NotFound
from server.classes.session import Event, State
from server.store.stations import Station
from tests.classes.conftest import make_circuit


def started(service, circuit_id, members, n=None):
    view = service.create_class(circuit_id, "Tuesday 6 am")
    service.check_in(view["id"], members[:n] if n else members)
    return service.start(view["id"])


def heat_entries(view):
    return [(slot["station_id"], slot["member_id"]) for slot in view["heat"]]


def test_start_deals_pods_and_arms_heat_one(service, hub, circuit_id, members):
    view = started(service, circuit_id, members)
    assert view["state"] == "READY" and (view["round_no"], view["heat_no"]) == (1, 1)
    assert [len(p) for p in view["pods"]] == [3, 3]
    assert hub.calls == [("arm", heat_entries(view))]
    assert [s["status"] for s in view["heat"]] == ["armed"] * 3
    a = hub.armed["sled1"]
    assert (a.athlete, a.member_id, a.class_id) == ("Nick0", members[0], view["id"])


def test_go_then_results_end_the_heat_and_the_next_one_is_armed(service, hub, circuit_id, members):
    view = started(service, circuit_id, members)
    view = service.control(view["id"], Event.GO)
    assert view["state"] == "WORK" and hub.calls[-1] == ("go", ["sled1", "lane1", "lane2"])
    hub.finish("sled1")
    hub.finish("lane1")
    assert service.current()["state"] == "WORK"
    hub.finish("lane2")
    view = service.current()
    assert (view["state"], view["heat_no"]) == ("TRANSITION", 2)
    assert hub.calls[-1] == ("arm", heat_entries(view))


def test_the_interval_clock_drives_the_class_to_done(service, hub, clock, circuit_id, members):
    view = started(service, circuit_id, members)
    service.control(view["id"], Event.GO)
    seen = set()
    for _ in range(20):
        current = service.current()
        if current is None:
            break
        seen.add((current["round_no"], current["heat_no"]))
        hub.finish_all()
        clock.advance(10.0)  # the rest interval
        service.tick()
    final = service.view(view["id"])
    assert final["state"] == "DONE"
    assert seen == {(1, 1), (1, 2), (1, 3), (2, 1), (2, 2), (2, 3)}  # pods of 3: sled 1 lane, lanes 2
    runs = [r.member_id for r in hub.results.recent(100, class_id=view["id"])]
    assert sorted(runs) == sorted(members * 2)  # every member once per round


def test_work_interval_over_aborts_what_is_still_running(service, hub, clock, circuit_id, members):
    view = started(service, circuit_id, members)
    service.control(view["id"], Event.GO)
    hub.finish("sled1")
    clock.advance(22.9)
    service.tick()
    assert service.current()["state"] == "WORK"
    clock.advance(0.1)
    service.tick()
    view = service.current()
    assert view["state"] == "TRANSITION"
    assert ("abort", "lane1") in hub.calls and ("abort", "lane2") in hub.calls
    statuses = {(r.station_id, r.status) for r in service.classes.attempts(view["id"], 1, 1)}
    assert statuses == {("sled1", "finished"), ("lane1", "aborted"), ("lane2", "aborted")}


def test_pause_freezes_the_clock(service, hub, clock, circuit_id, members):
    view = started(service, circuit_id, members)
    service.control(view["id"], Event.GO)
    clock.advance(5)
    view = service.control(view["id"], Event.PAUSE)
    assert view["clock"]["remaining_s"] == 18.0 and not view["clock"]["running"]
    clock.advance(600)
    service.tick()
    assert service.current()["state"] == "PAUSED"
    view = service.control(view["id"], Event.RESUME)
    assert view["state"] == "WORK" and view["clock"]["remaining_s"] == 18.0
    assert hub.count("go") == 1 and hub.count("abort") == 0


def test_stop_all_aborts_and_resume_reruns_only_the_unfinished(service, hub, circuit_id, members):
    view = started(service, circuit_id, members)
    service.control(view["id"], Event.GO)
    hub.finish("sled1")
    view = service.stop_all()
    assert view["state"] == "PAUSED" and view["resume_to"] == "READY"
    assert ("abort", "lane1") in hub.calls and ("abort", "lane2") in hub.calls
    assert not hub.armed
    hub.calls.clear()
    view = service.control(view["id"], Event.RESUME)
    assert view["state"] == "READY" and view["heat_no"] == 1
    assert hub.calls == [("arm", [("lane1", members[1]), ("lane2", members[3])])]
    view = service.control(view["id"], Event.GO)
    assert hub.calls[-1] == ("go", ["lane1", "lane2"])


def test_stop_all_without_a_class_still_aborts_every_station(service, hub):
    assert service.stop_all() is None
    assert {c[1] for c in hub.calls if c[0] == "abort"} == {"sled1", "sled2", "lane1", "lane2", "lane3", "lane4"}


def test_skip_in_ready_aborts_the_armed_heat(service, hub, circuit_id, members):
    view = started(service, circuit_id, members)
    view = service.control(view["id"], Event.SKIP)
    assert (view["state"], view["heat_no"]) == ("READY", 2)
    assert [c for c in hub.calls if c[0] == "abort"] == [("abort", "sled1"), ("abort", "lane1"), ("abort", "lane2")]
    assert hub.calls[-1] == ("arm", [("sled1", members[2]), ("lane1", members[5])])


def test_manual_go_circuit_waits_in_ready(service, hub, clock, members):
    cid = service.circuits.save(make_circuit(hub, name="Manual", auto_go=False)).id
    view = started(service, cid, members)
    service.control(view["id"], Event.GO)
    hub.finish_all()
    clock.advance(10)
    service.tick()
    assert service.current()["state"] == "READY" and hub.count("go") == 1


def test_tap_override_rearms_the_station(service, hub, circuit_id, members):
    view = started(service, circuit_id, members)
    view = service.assign(view["id"], "sled1", members[4])
    assert view["heat"][0]["member_id"] == members[4]
    assert ("abort", "sled1") in hub.calls and hub.calls[-1] == ("arm", [("sled1", members[4])])
    later = service.view(view["id"])
    assert service.classes.get(view["id"]).session.plan[0][2].member_at("sled1") == members[0]
    service.control(view["id"], Event.GO)
    with pytest.raises(Conflict, match="this heat is running"):
        service.assign(later["id"], "sled1", members[0])
    with pytest.raises(InvalidInput):
        service.assign(later["id"], "sled9", members[0], heat_no=2)


def test_late_check_in_joins_from_the_next_round(service, hub, circuit_id, members):
    view = started(service, circuit_id, members[:4])
    view = service.check_in(view["id"], [members[4]])
    record = service.classes.get(view["id"])
    round1 = {m for h in record.session.plan[0] for _, m in h.entries}
    round2 = {m for h in record.session.plan[1] for _, m in h.entries}
    assert members[4] not in round1 and members[4] in round2
    assert [p["member_id"] for p in view["checked_in"]] == members[:5]


def test_check_out_in_ready_aborts_the_armed_attempt(service, hub, circuit_id, members):
    view = started(service, circuit_id, members)
    view = service.check_out(view["id"], members[0])
    assert ("abort", "sled1") in hub.calls
    assert members[0] not in [s["member_id"] for s in view["heat"]]
    with pytest.raises(NotFound):
        service.check_out(view["id"], members[0])


def test_voided_false_start_waits_for_the_rearmed_attempt(service, hub, circuit_id, members):
    view = started(service, circuit_id, members, n=1)
    service.control(view["id"], Event.GO)
    hub.finish("sled1", None, status="FALSE_START")
    assert service.current()["state"] == "WORK"
    hub.finish("sled1", 6.1)
    assert service.current()["state"] == "TRANSITION"


def test_only_one_class_runs_at_a_time(service, circuit_id, members):
    started(service, circuit_id, members[:2])
    other = service.create_class(circuit_id)
    service.check_in(other["id"], members[2:4])
    with pytest.raises(Conflict, match="is running"):
        service.start(other["id"])


def test_check_in_rejects_unknown_members_and_done_classes(service, circuit_id, members):
    view = service.create_class(circuit_id)
    with pytest.raises(InvalidInput):
        service.check_in(view["id"], ["nobody"])
    service.control(view["id"], Event.FINISH)
    with pytest.raises(Conflict, match="is done"):
        service.check_in(view["id"], members)


def test_thirty_members_check_in_quickly(service, circuit_id):
    ids = [service.members.create(f"Person {i}").id for i in range(30)]
    view = service.create_class(circuit_id)
    for member_id in ids:  # one tap each
        view = service.check_in(view["id"], [member_id])
    assert view["checked_in_count"] == 30 and sum(len(p) for p in view["pods"]) == 30


def test_every_class_broadcast_is_already_committed(service, hub, db, circuit_id, members):
    seen = []

    def check(name, data):
        if name == "class":
            row = db.query("SELECT state, session_json FROM classes WHERE id = ?", (data["id"],))[0]
            seen.append(row["state"] == data["state"])
    hub.broadcaster.event = lambda name, data: (check(name, data), hub.broadcaster.events.append((name, data)))
    view = started(service, circuit_id, members)
    service.control(view["id"], Event.GO)
    hub.finish_all()
    assert seen and all(seen)


def test_a_result_arriving_while_the_service_is_busy_is_applied_later(service, hub, circuit_id, members):
    view = started(service, circuit_id, members, n=1)
    service.control(view["id"], Event.GO)
    a = hub.armed.pop("sled1")
    from server.store.results import StoredResult
    stored = StoredResult(a.attempt_id, "sled1", a.heat_id, a.class_id, a.member_id, a.athlete, "OK", "", 5.0, None,
                          {}, 1.0)
    hub.results.save(stored)
    with service._lock:  # a web thread is in the middle of something
        t = threading.Thread(target=service.on_result, args=(stored,))
        t.start()
        t.join(2)
        assert not t.is_alive()  # the pipeline thread did not wait
        assert service.classes.get(view["id"]).session.state is State.WORK
    service.tick()
    assert service.current()["state"] == "TRANSITION"


def test_circuit_parameters_go_to_the_hub_for_the_class(service, hub, circuit_id, members):
    view = started(service, circuit_id, members)
    assert hub.overrides[-1]["sled1"] == {"distance_m": 15.0, "start_mode": "GO_COUNTDOWN", "time_cap_s": 20.0,
                                          "false_start_policy": "VOID_REARM", "countdown_s": 3.0}
    assert set(hub.overrides[-1]) == {"sled1", "lane1", "lane2"}
    assert "distance_m" not in hub.overrides[-1]["lane1"]  # not an engine option for lanes
    service.control(view["id"], Event.FINISH)
    assert hub.overrides[-1] == {}


def test_circuit_overrides_are_valid_engine_configs(hub, circuit_id, service):
    from server.hub.station_setup import engine_config
    circuit = service.circuits.get(circuit_id).circuit
    for station in hub.stations.all():
        if station.id in circuit.station_params:
            engine_config(station, circuit.station_params[station.id])  # raises on an unknown option


def test_station_messages_name_the_station_as_the_gym_does(service, hub, circuit_id, members):
    view = started(service, circuit_id, members)
    sid = view["heat"][0]["station_id"]
    name = hub.stations.get(sid).name
    service.abort_station(view["id"], sid)
    with pytest.raises(Conflict) as refused:
        service.abort_station(view["id"], sid)
    assert refused.value.message == f"nothing is armed at {name} in this class"
    hub.stations.upsert(Station("spare", "lane", "Spare lane", {}))
    with pytest.raises(InvalidInput) as outside:
        service.assign(view["id"], "spare", None)
    assert outside.value.errors == ["station_id: Spare lane is not in the circuit"]
