"""What pages see of a class: the ``class`` Socket.IO event and ``GET /api/classes/<id>``.

Members appear by their display name (nickname, else name) only: the view is public (the wall reads
it without signing in). ``opt_out`` is included so boards built from it can leave them out.
"""

from __future__ import annotations

from typing import Any

from server.classes.rotation import Heat
from server.classes.session import allowed_events, clock_view
from server.classes.store import AttemptRow, ClassRecord, ClassStore
from server.classes.members import Member, MemberStore


class ClassViews:
    def __init__(self, members: MemberStore, classes: ClassStore, stations: Any):
        self.members = members
        self.classes = classes
        self.stations = stations

    def summary(self, record: ClassRecord) -> dict[str, Any]:
        s = record.session
        return {"id": record.id, "name": record.name, "circuit_id": record.circuit_id, "state": s.state.value,
                "round_no": s.round_no, "rounds_total": len(s.plan) or record.circuit.rounds,
                "checked_in_count": sum(len(p) for p in s.pods), "created_at": record.created_at,
                "started_at": record.started_at, "finished_at": record.finished_at}

    def view(self, record: ClassRecord, now_s: float) -> dict[str, Any]:
        s = record.session
        checked = self.classes.checked_in(record.id)
        people = self.members.by_ids([m for m, _ in checked] + [m for rnd in s.plan for h in rnd for _, m in h.entries])
        station_names = {st.id: st.name for st in self.stations.all()}
        rows = self.classes.attempts(record.id)
        nxt = s.next_pointer() if s.round_no else None
        return {
            **self.summary(record),
            "circuit": record.circuit.to_dict(),
            "resume_to": s.resume_to.value if s.resume_to else None,
            "allowed": [e.value for e in allowed_events(s)],
            "heat_no": s.heat_no,
            "heats_in_round": len(s.plan[s.round_no - 1]) if s.round_no else 0,
            "clock": clock_view(s, now_s),
            "heat": self._slots(record, s.heat(), s.round_no, s.heat_no, people, station_names, rows),
            "next": None if nxt is None else {
                "round_no": nxt[0], "heat_no": nxt[1],
                "entries": self._slots(record, s.heat(*nxt), nxt[0], nxt[1], people, station_names, rows)},
            "pods": [[_person(m, people) for m in pod] for pod in s.pods],
            "checked_in": [{**_person(m, people), "checked_in_at": at} for m, at in checked],
            "updated_at": record.updated_at,
        }

    def _slots(self, record: ClassRecord, heat: Heat | None, round_no: int, heat_no: int,
               people: dict[str, Member], station_names: dict[str, str], rows: list[AttemptRow]) -> list[dict]:
        if heat is None:
            return []
        latest: dict[tuple[str, str], AttemptRow] = {}
        for r in rows:
            if (r.round_no, r.heat_no) == (round_no, heat_no):
                latest[(r.station_id, r.member_id)] = r
        out = []
        for station_id, member_id in heat.entries:
            row = latest.get((station_id, member_id))
            cs = record.circuit.circuit_station_of(station_id)
            out.append({"station_id": station_id, "station_name": station_names.get(station_id, station_id),
                        "circuit_station": cs.name if cs else None, **_person(member_id, people),
                        "status": row.status if row else "waiting", "attempt_id": row.attempt_id if row else None,
                        "result_id": row.result_id if row else None, "rerun": heat.rerun})
        return out


def _person(member_id: str, people: dict[str, Member]) -> dict[str, Any]:
    m = people.get(member_id)
    return {"member_id": member_id, "athlete": m.display_name if m else member_id,
            "opt_out": m.opt_out if m else False}
