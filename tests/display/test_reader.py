"""The board reader keeps its in-memory rows in step with the results table: new results, corrections
(time edits, DQ, re-run, delete), replaced rows, roster changes, and changes that bypassed the
corrections (a full reload)."""

from __future__ import annotations

import pytest

from server.boards.reader import BoardReader
from server.classes.corrections import CorrectionKind, corrected
from server.classes.store import CorrectionStore
from server.store.db import Database
from server.classes.members import MemberStore
from server.store.results import ResultStore, StoredResult


@pytest.fixture(params=["file", "memory"])
def db(request, tmp_path):
    database = Database(tmp_path / "hub.db" if request.param == "file" else ":memory:")
    yield database
    database.close()


def save(db, rid, t, status="OK", athlete="Kiwi", member=None, distance=10.0):
    ResultStore(db).save(StoredResult(rid, "sled1", None, "c1", member, athlete, status, "", t, None,
                                      {"metrics": {"distance_m": distance}, "curve": {}}, 1000.0))


def correct(db, rid, kind, time_s=None):
    CorrectionStore(db).apply(rid, kind.value, "test", 2000.0, (None, "coach"),
                              lambda before: corrected(kind, before, "test", time_s))


def ids(reader):
    return sorted(reader.snapshot().by_id)


def test_new_results_corrections_and_deletions_reach_the_snapshot(db):
    reader = BoardReader(db)
    assert ids(reader) == []
    save(db, "a", 5.0)
    save(db, "b", None, status="DNF")
    save(db, "c", 6.0, distance=15.0)
    snap = reader.snapshot()
    assert sorted(snap.by_id) == ["a", "c"] and snap.by_id["c"].course == "15 m"
    assert reader.snapshot() is snap  # nothing changed: the same snapshot (and cache version)
    correct(db, "b", CorrectionKind.EDIT_TIME, 7.5)  # a hand time makes the DNF an OK result
    assert ids(reader) == ["a", "b", "c"] and reader.snapshot().by_id["b"].time_s == 7.5
    correct(db, "a", CorrectionKind.DQ)
    correct(db, "c", CorrectionKind.DELETE)
    assert ids(reader) == ["b"]
    save(db, "b", 7.1)  # INSERT OR REPLACE: a new rowid for the same id
    assert reader.snapshot().by_id["b"].time_s == 7.1
    assert reader.snapshot().version[0] > snap.version[0]


def test_roster_changes_give_a_new_version(db):
    reader = BoardReader(db)
    members = MemberStore(db)
    anna = members.create("Anna Kowalski", "Rocket").id
    first = reader.snapshot()
    assert first.people[anna].nickname == "Rocket" and not first.people[anna].opt_out
    members.update(anna, {"opt_out": True})
    second = reader.snapshot()
    assert second.people[anna].opt_out and second.version[1] > first.version[1]


def test_a_change_that_bypassed_the_corrections_reloads_everything(db):
    reader = BoardReader(db)
    save(db, "a", 5.0)
    save(db, "b", 6.0)
    assert ids(reader) == ["a", "b"]
    db.execute("UPDATE results SET status = 'DQ' WHERE id = 'a'")  # not through a correction
    assert ids(reader) == ["b"]
    db.execute("DELETE FROM results")
    assert ids(reader) == []


def test_the_safety_check_agrees_with_sqlite_on_any_times(db):
    import random
    rng = random.Random(5)
    for i in range(300):
        save(db, f"r{i}", round(rng.uniform(0.5, 60.0), rng.choice([1, 2, 3, 4])))
    reader = BoardReader(db)
    first = reader.snapshot()
    assert len(first.by_id) == 300 and reader.snapshot() is first  # no needless reload
