"""Corrections: each writes the result and its audit entry together, then reaches every page."""

from __future__ import annotations

import pytest

from server.classes.corrections import CorrectionKind
from server.errors import Conflict, InvalidInput, NotFound
from server.classes.session import Event
from tests.classes.test_service import started

ACTOR = ("u1", "dana")


@pytest.fixture
def finished(service, hub, circuit_id, members):
    """A running class whose first heat finished: (class view, [results of heat 1])."""
    view = started(service, circuit_id, members)
    service.control(view["id"], Event.GO)
    return view, hub.finish_all(5.0)


def test_edit_time_keeps_the_original_in_the_audit_and_broadcasts(service, hub, finished):
    _, results = finished
    hub.broadcaster.events.clear()
    out = service.correct(results[0].id, CorrectionKind.EDIT_TIME, "gate missed, hand time", ACTOR, 7.25)
    assert out["result"]["time_s"] == 7.25 and out["result"]["status"] == "OK"
    assert out["result"]["original_time_s"] == 5.0
    assert out["result"]["reason_text"] is None          # OK: nothing to explain
    assert out["result"]["correction"]["reason"] == "gate missed, hand time"
    assert hub.broadcaster.names() == ["correction", "result"]
    entry = service.corrections.entries(result_id=results[0].id)[0]
    assert (entry.kind, entry.before["time_s"], entry.after["time_s"], entry.user_name) == ("edit_time", 5.0, 7.25, "dana")
    assert hub.results.get(results[0].id).time_s == 7.25


def test_dq_and_delete(service, hub, finished):
    view, results = finished
    out = service.correct(results[0].id, CorrectionKind.DQ, "pulled forwards", ACTOR)
    assert out["result"]["status"] == "DQ"
    assert out["result"]["reason_text"] == "disqualified by the instructor: pulled forwards"  # what pages show
    with pytest.raises(Conflict, match="already disqualified"):
        service.correct(results[0].id, CorrectionKind.DQ, "again", ACTOR)
    hub.broadcaster.events.clear()
    out = service.correct(results[1].id, CorrectionKind.DELETE, "test run", ACTOR)
    assert out["result"] is None and hub.results.get(results[1].id) is None
    assert hub.broadcaster.names() == ["correction", "result_deleted"]
    trail = service.corrections.entries(class_id=view["id"])
    assert [e.kind for e in trail] == ["delete", "dq"]
    assert trail[0].before["id"] == results[1].id and trail[0].after is None


def test_rerun_adds_a_heat_after_the_current_one_and_runs_it(service, hub, clock, finished, members):
    view, results = finished
    first = results[0]
    out = service.correct(first.id, CorrectionKind.RERUN, "sled rope snagged", ACTOR)
    assert out["rerun_scheduled"] and out["result"]["status"] == "RERUN"
    record = service.classes.get(view["id"])
    assert record.session.plan[0][2].rerun
    assert record.session.plan[0][2].entries == ((first.station_id, first.member_id),)
    for _ in range(2):  # heat 2, then the re-run heat
        clock.advance(10)
        service.tick()
        hub.finish_all(4.0)
    rerun_view = service.current()
    assert rerun_view["round_no"] == 1 and rerun_view["heat_no"] == 4
    assert [r.member_id for r in hub.results.recent(100, class_id=view["id"])].count(first.member_id) == 2


def test_leaderboard_view_leaves_out_dq_reruns_and_opted_out_members(service, hub, db, finished):
    _, results = finished
    service.members.update(results[2].member_id, {"opt_out": True})
    service.correct(results[0].id, CorrectionKind.DQ, "forwards", ACTOR)
    shown = {r["id"] for r in db.query("SELECT id FROM leaderboard_results")}
    assert shown == {results[1].id}
    assert service.members.member_opted_out(results[2].member_id)
    assert not service.members.member_opted_out(results[1].member_id)


def test_bad_corrections(service, finished):
    _, results = finished
    with pytest.raises(NotFound):
        service.correct("nope", CorrectionKind.DQ, "x", ACTOR)
    with pytest.raises(InvalidInput):
        service.correct(results[0].id, CorrectionKind.EDIT_TIME, "x", ACTOR, None)
    assert service.corrections.entries() == []
