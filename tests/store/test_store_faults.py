"""A broken database: refused at start-up with one line naming the file (exit status 3), a write that
fails while running answers 503 with its reason and changes nothing, health says ``store_writable``,
and results that could not be written wait in memory until the disk takes them.

Read-only and full disks are real: a small tmpfs (``tests/support/smallfs.py``) remounted read-only or
filled with a file."""

from __future__ import annotations

import sqlite3
import subprocess
import sys

import pytest

from server.app import create_app
from server.hub.attempts import AttemptBook
from server.hub.results_writer import ResultWriter
from server.store.db import Database
from server.store.errors import EXIT_STORE, StoreCorrupt, StoreUnavailable
from server.store.results import ResultStore
from tests.classes.api_support import make_users, signed_in
from tests.classes.conftest import base_config
from tests.support.smallfs import SmallFs


def _damaged_sqlite(path) -> bytes:
    """A real SQLite file (right header) whose table pages were overwritten."""
    db = Database(path)
    with db.transaction() as conn:
        for i in range(200):
            conn.execute("INSERT INTO members (id, name, created_at, updated_at) VALUES (?,?,0,0)",
                         (f"m{i}", f"Member {i} " + "x" * 100))
    db.close()
    data = bytearray(path.read_bytes())
    page = 4096
    for start in range(2 * page, len(data) - page, page):
        data[start:start + 64] = b"\xa5" * 64
    path.write_bytes(bytes(data))
    return bytes(data)


def test_a_file_that_is_not_sqlite_is_refused_and_left_alone(tmp_path):
    path = tmp_path / "sledhub.db"
    path.write_bytes(b"this is a spreadsheet, not a database\n" * 50)
    before = path.read_bytes()
    with pytest.raises(StoreCorrupt) as err:
        Database(path)
    assert err.value.reason == "not_sqlite" and str(path) in str(err.value)
    assert path.read_bytes() == before


def test_a_damaged_sqlite_file_is_refused_and_left_alone(tmp_path):
    path = tmp_path / "sledhub.db"
    for suffix in ("-wal", "-shm"):
        (tmp_path / f"sledhub.db{suffix}").unlink(missing_ok=True)
    before = _damaged_sqlite(path)
    with pytest.raises(StoreCorrupt) as err:
        Database(path)
    assert err.value.reason == "corrupt" and "restore a backup" in str(err.value)
    assert path.read_bytes() == before


@pytest.mark.parametrize("command", ["serve", "demo"])
def test_the_cli_says_one_line_and_exits_3_on_a_broken_database(tmp_path, command):
    path = tmp_path / "sledhub.db"
    path.write_bytes(b"garbage" * 100)
    if command == "serve":
        (tmp_path / "hub.toml").write_text(f'[store]\npath = "{path}"\n')
        args = ["serve", "--config", str(tmp_path / "hub.toml"), "--port", "0", "--host", "127.0.0.1"]
    else:
        args = ["demo", "--db", str(path), "--port", "0", "--host", "127.0.0.1"]
    run = subprocess.run([sys.executable, "-m", "server.cli", *args], capture_output=True, text=True, timeout=60)
    assert run.returncode == EXIT_STORE == 3
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    assert "Traceback" not in run.stderr and len(lines) == 1, run.stderr
    assert lines[0].startswith("sledhub: ") and str(path) in lines[0] and "not an SQLite database" in lines[0]


def test_a_read_only_database_is_refused_at_start_up(tmp_path):
    with SmallFs(tmp_path / "fs") as fs:
        Database(fs.path / "sledhub.db").close()
        fs.read_only()
        with pytest.raises(StoreUnavailable) as err:
            Database(fs.path / "sledhub.db")
        assert err.value.reason == "read_only"


def test_a_write_to_a_full_disk_is_a_503_and_changes_nothing(tmp_path):
    """(A filesystem cannot be remounted read-only under an open database, so the running case is a
    full disk; a read-only one is refused at start-up, above.)"""
    with SmallFs(tmp_path / "fs", size_kib=8192) as fs:
        cfg = base_config(tmp_path)
        from dataclasses import replace
        app = create_app(replace(cfg, store=replace(cfg.store, path=str(fs.path / "app.db"))), connect_mqtt=False)
        app.flask.config["TESTING"] = True
        app.hub.start()
        try:
            make_users(app.db)
            api = signed_in(app, "instructor")
            kept = api.post("/api/members", json={"name": "Ada"})
            assert kept.status_code == 201
            assert api.get("/api/health").get_json()["store_writable"] is True

            fs.fill()
            refused = api.post("/api/members", json={"name": "Grace"})
            assert refused.status_code == 503
            body = refused.get_json()
            assert body["reason"] == "disk_full" and "the disk is full" in body["error"]
            assert refused.headers["Retry-After"] == "30"
            health = api.get("/api/health").get_json()
            assert health["store_writable"] is False and health["store_error"]["reason"] == "disk_full"
            assert health["api_errors"].get("503") == 1
            assert [m["name"] for m in api.get("/api/members").get_json()] == ["Ada"]

            fs.free()
            assert api.post("/api/members", json={"name": "Grace"}).status_code == 201
            assert api.get("/api/health").get_json()["store_writable"] is True
            assert sorted(m["name"] for m in api.get("/api/members").get_json()) == ["Ada", "Grace"]
        finally:
            app.stop()


class Result:
    """The fields of an engine result the writer reads."""

    def __init__(self, attempt_id: str, time_s: float):
        self.attempt_id, self.station_id, self.status, self.reason = attempt_id, "lane1", "OK", ""
        self.time_s, self.reaction_s = time_s, None

    def to_dict(self) -> dict:
        return {"splits_s": [], "warnings": []}


class Events:
    def __init__(self):
        self.sent: list[tuple[str, dict]] = []

    def event(self, name: str, data: dict) -> None:
        self.sent.append((name, data))


def test_results_wait_in_memory_while_the_disk_is_full_then_are_written_in_order(tmp_path):
    with SmallFs(tmp_path / "fs", size_kib=8192) as fs:  # room for a WAL of 1,000 pages (its checkpoint)
        db = Database(fs.path / "sledhub.db")
        store, events = ResultStore(db), Events()
        writer = ResultWriter(store, AttemptBook(prefix="t"), events, lambda: 1000.0, retry_interval_us=1_000_000)
        writer.finished(Result("r0", 5.0))
        fs.fill()
        for i in range(1, 40):  # enough to need new pages in the WAL
            writer.finished(Result(f"r{i}", 5.0 + i))
        assert writer.pending > 0 and db.writable is False and db.write_error.reason == "disk_full"
        written = {r.id for r in store.recent(1000)}
        assert [name for name, _ in events.sent] == ["result"] * len(written)  # only what is on disk was announced
        writer.retry(2_000_000)
        assert writer.pending > 0  # still full
        fs.free()
        writer.retry(2_500_000)
        assert writer.pending > 0  # not before the retry interval
        writer.retry(3_000_000)
        assert writer.pending == 0 and db.writable is True
        assert sorted(r.id for r in store.recent(1000)) == sorted(f"r{i}" for i in range(40))
        assert [data["id"] for _, data in events.sent] == [f"r{i}" for i in range(40)]
        db.close()


def test_a_locked_or_failed_write_is_rolled_back(tmp_path):
    db = Database(tmp_path / "x.db")
    other = sqlite3.connect(tmp_path / "x.db", timeout=0.1)
    other.execute("BEGIN IMMEDIATE")
    db._conn.execute("PRAGMA busy_timeout = 100")
    with pytest.raises(StoreUnavailable) as err:
        with db.transaction() as conn:
            conn.execute("INSERT INTO members (id, name, created_at, updated_at) VALUES ('a','A',0,0)")
    assert err.value.reason == "locked"
    other.rollback()
    other.close()
    assert db.query("SELECT COUNT(*) FROM members")[0][0] == 0
    db.close()


def test_systemd_does_not_restart_the_hub_in_a_loop_on_a_broken_database():
    from pathlib import Path
    unit = (Path(__file__).resolve().parents[2] / "systemd" / "sledhub.service").read_text()
    prevent = [line.split("=", 1)[1].split() for line in unit.splitlines() if line.startswith("RestartPreventExitStatus=")]
    assert prevent and str(EXIT_STORE) in prevent[0] and "2" in prevent[0]


def test_a_backup_at_start_up_restores_every_result(tmp_path):
    from server.store.backup import backups, take_backup
    db = Database(tmp_path / "sledhub.db")
    store, events = ResultStore(db), Events()
    writer = ResultWriter(store, AttemptBook(prefix="t"), events, lambda: 1000.0)
    for i in range(3):
        writer.finished(Result(f"r{i}", 5.0 + i))
    clock = iter(range(1_700_000_000, 1_700_000_100, 10))
    made = [take_backup(db, keep=2, wall_clock=lambda: next(clock)) for _ in range(3)]
    assert backups(db.path) == made[1:]  # the oldest copy is gone
    db.close()
    # the restore of docs/deploy.md: replace the file (and drop its -wal/-shm) with the newest copy
    (tmp_path / "sledhub.db").write_bytes(made[-1].read_bytes())
    for suffix in ("-wal", "-shm"):
        (tmp_path / f"sledhub.db{suffix}").unlink(missing_ok=True)
    restored = Database(tmp_path / "sledhub.db")
    assert sorted((r.id, r.time_s) for r in ResultStore(restored).recent()) == [("r0", 5.0), ("r1", 6.0), ("r2", 7.0)]
    restored.close()


def test_serve_takes_a_backup_at_start_up(tmp_path):
    import urllib.request
    from server.mqtt.broker import free_port
    from server.store.backup import backups
    from tests.support.waiting import wait_for
    db_path, port = tmp_path / "state" / "sledhub.db", free_port()
    (tmp_path / "hub.toml").write_text(f'[store]\npath = "{db_path}"\n[mqtt]\nport = 1\n')
    proc = subprocess.Popen([sys.executable, "-m", "server.cli", "serve", "--config", str(tmp_path / "hub.toml"),
                             "--port", str(port), "--host", "127.0.0.1"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)

    def serving() -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=2):
                return True
        except OSError:
            return False
    try:
        wait_for(serving, 60, 0.05, "the hub serving")  # stop it only once it is up
        assert backups(db_path)
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(30)
    copy = Database(backups(db_path)[0])
    assert copy.query("PRAGMA quick_check")[0][0] == "ok" and copy.query("SELECT COUNT(*) FROM users")[0][0] == 0
    copy.close()


def test_health_probes_the_disk_at_most_every_5_s(tmp_path):
    with SmallFs(tmp_path / "fs", size_kib=8192) as fs:
        now = [100.0]
        db = Database(fs.path / "sledhub.db", clock_s=lambda: now[0])
        assert db.check_writable() is True
        fs.fill()
        assert db.check_writable() is True  # the last outcome, under 5 s old: no probe yet
        now[0] += 5.0
        assert db.check_writable() is False and db.write_error.reason == "disk_full"
        fs.free()
        assert db.check_writable() is False  # checked just now
        now[0] += 5.0
        assert db.check_writable() is True and db.write_error is None
        db.close()


def test_the_run_journal_keeps_its_entries_while_the_disk_is_full_and_never_raises(tmp_path):
    from server.hub.run_journal import RunJournal
    with SmallFs(tmp_path / "fs", size_kib=8192) as fs:
        db = Database(fs.path / "sledhub.db")
        journal = RunJournal(db, host_boot="boot-1")
        journal.event("lane1", "start", "break", 1_000, None)
        journal.flush()
        fs.fill()
        for i in range(400):  # enough to need new pages
            journal.samples("sled1", "force", "force", [(2_000 + i, 150.0 + i, 1234)] * 8, 0)
            journal.flush()
        assert db.writable is False and journal.written == 1
        assert journal.save_state("seqs", {"n": {"b": [1, 0, 0, [[5, 9, 1]] * 200]}}) is False
        journal.clear()  # the last attempt finished while the disk was full: the clear waits too
        fs.free()
        journal.flush()
        assert db.writable is True and db.query("SELECT COUNT(*) AS n FROM run_journal")[0]["n"] == 0
        journal.event("lane1", "start", "break", 9_000, None)
        journal.flush()
        assert journal.entries() == [("event", {"s": "lane1", "r": "start", "k": "break", "t": 9_000, "v": None})]
        db.close()


def test_entries_queued_during_an_outage_are_written_once_the_disk_takes_writes(tmp_path):
    from server.hub.run_journal import RunJournal
    with SmallFs(tmp_path / "fs", size_kib=8192) as fs:
        db = Database(fs.path / "sledhub.db")
        journal = RunJournal(db, host_boot="boot-1")
        fs.fill()
        for i in range(400):
            journal.samples("sled1", "force", "force", [(2_000 + i, 150.0 + i, 1234)] * 8, 0)
            journal.flush()
        assert journal.written == 0
        fs.free()
        journal.flush()
        assert journal.written == 400 and len(journal.entries()) == 400
        db.close()
