"""Child process for the SIGKILL test: runs a class on a fake hub and a real SQLite file as fast as it
can, printing every ``class`` and ``result`` broadcast as a JSON line (a broadcast happens only after
its commit). It never stops by itself; the test kills it with SIGKILL.

    python -m tests.classes.crash_child DB_FILE
"""

from __future__ import annotations

import json
import sys

from server.classes.service import ClassService
from server.classes.session import Event
from server.store.db import Database
from tests.classes.conftest import FakeClock, make_circuit
from tests.classes.fakes import FakeHub


def main(db_file: str) -> None:
    db = Database(db_file)
    hub = FakeHub(db)

    def announce(name, data):
        if name == "class":
            print(json.dumps({"class": [data["state"], data["round_no"], data["heat_no"]]}), flush=True)
        elif name == "result":
            print(json.dumps({"result": data["id"], "time_s": data["time_s"]}), flush=True)
    hub.broadcaster.event = announce
    clock = FakeClock()
    service = ClassService(hub, db, clock=clock)
    circuit = service.circuits.save(make_circuit(hub, rounds=20))
    members = [service.members.create(f"Member {i}").id for i in range(6)]
    view = service.create_class(circuit.id)
    service.check_in(view["id"], members)
    service.start(view["id"])
    service.control(view["id"], Event.GO)
    n = 0
    while True:
        for station_id in list(hub.armed):
            n += 1
            hub.finish(station_id, round(4 + n / 1000, 3))
        clock.advance(10)
        service.tick()


if __name__ == "__main__":
    main(sys.argv[1])
