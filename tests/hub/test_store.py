import sqlite3

import pytest

from server.store.db import Database, connect, load_migrations
from server.store.results import ResultStore, StoredResult
from server.store.stations import Binding, Station, StationStore


def _result(i: int, station="sled1", t=1000.0) -> StoredResult:
    return StoredResult(f"r{i}", station, "h1", None, None, f"A{i}", "OK", "", 5.0 + i, None,
                        {"metrics": {"peak_force_n": 500 + i}}, t + i)


def test_wal_and_schema_version(tmp_path):
    conn = connect(tmp_path / "x.db")
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA user_version").fetchone()[0] == len(load_migrations())
    conn.close()


def test_newer_schema_is_refused(tmp_path):
    path = tmp_path / "x.db"
    raw = sqlite3.connect(path)
    raw.execute(f"PRAGMA user_version = {len(load_migrations()) + 1}")
    raw.close()
    with pytest.raises(RuntimeError, match="newer than this sledhub"):
        connect(path)


def test_results_newest_first_and_survive_reopen(tmp_path):
    db = Database(tmp_path / "x.db")
    store = ResultStore(db)
    for i in range(3):
        store.save(_result(i))
    store.save(_result(9, station="lane1"))
    db.close()
    store = ResultStore(Database(tmp_path / "x.db"))
    assert [r.id for r in store.recent()] == ["r9", "r2", "r1", "r0"]
    assert [r.id for r in store.recent(station_id="lane1")] == ["r9"]
    assert store.get("r1").detail["metrics"]["peak_force_n"] == 501
    assert store.get("r1").to_dict()["metrics"]["peak_force_n"] == 501
    store.db.close()


def test_station_bindings_roundtrip_and_rebinding(tmp_path):
    db = Database(tmp_path / "x.db")
    st = StationStore(db)
    st.upsert(Station("sled1", "sled", "Sled 1", {"distance_m": 15},
                      (Binding("force", "n1", "lc"), Binding("wheel", "n1", "enc"))))
    st.upsert(Station("sled2", "sled", "Sled 2", {"distance_m": 10}, (Binding("force", "n1", "lc"),)))
    got = {s.id: s for s in st.all()}
    assert got["sled2"].bindings == (Binding("force", "n1", "lc"),)
    assert got["sled1"].bindings == (Binding("wheel", "n1", "enc"),)  # a sensor serves one station only
    with pytest.raises(ValueError, match="role 'start' does not exist for a sled"):
        st.upsert(Station("sled3", "sled", "Sled 3", {}, (Binding("start", "n2", "b"),)))
    assert st.delete("sled1") and st.get("sled1") is None
    db.close()
