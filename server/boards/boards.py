"""The leaderboards, as pure functions over result rows and the roster (see ``docs/display.md``).

Every function takes *all* the rows it may need (unfiltered) plus the roster, applies the privacy
rules through :func:`~server.boards.model.eligible`, and returns JSON-ready rows. Lower times are
better at every station. Times are compared only within one ``course`` of one station (a 10 m and a
15 m pull are different events). Ties in time go to whoever did it first.

- **station** (today): each athlete's best time today at the station's current course; ``record`` marks
  only the standing record (the course's best ever, if it beat an earlier result when set).
- **class**: points merge stations — at each station (and course) that at least two athletes of the
  class ran, an athlete scores ``100 × station best ÷ own best`` (the fastest scores 100); the class
  score is the sum over stations. See :func:`class_board`.
- **pbs**: results in the window that beat every earlier result of the same athlete on the same
  course (a first result is not a PB); the best one per athlete and course.
- **records**: the all-time best per station and course.
- **improved**: against each athlete's previous class, the mean percentage by which their best
  times got faster, over the stations they ran in both; only improvements are listed.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any, Iterable, Mapping, Sequence

from server.boards.model import Person, ResultRow, eligible, name_of, person_key

Row = dict[str, Any]
Event = tuple[str, str]  # (station_id, course)
MIN_FIELD = 2
"""Athletes a station (and course) needs before it scores on the class board: alone, everyone is the
fastest and scores 100, which says nothing."""


def _order(r: ResultRow) -> tuple:
    """Better first: lower time, then earlier, then id (a total order)."""
    return (r.time_s, r.finished_at, r.id)


def _chrono(r: ResultRow) -> tuple:
    return (r.finished_at, r.id)


def best_by_person(rows: Iterable[ResultRow]) -> dict[str, ResultRow]:
    """Each athlete's best row (rows must be eligible)."""
    best: dict[str, ResultRow] = {}
    for r in rows:
        key = person_key(r)
        if key is not None and (key not in best or _order(r) < _order(best[key])):
            best[key] = r
    return best


def competition_ranks(values: Sequence[Any]) -> list[int]:
    """Ranks "1, 2, 2, 4" for already sorted ``values`` (equal values share a rank)."""
    ranks: list[int] = []
    for i, v in enumerate(values):
        ranks.append(ranks[-1] if i and v == values[i - 1] else i + 1)
    return ranks


def _who(r: ResultRow, people: Mapping[str, Person]) -> Row:
    return {"athlete": name_of(r, people), "member_id": r.member_id}


def _pct(before: float, after: float) -> float:
    return round(100.0 * (before - after) / before, 1)


def history_marks(rows: Iterable[ResultRow]) -> dict[str, tuple[float | None, float | None]]:
    """For every (eligible) row id: ``(athlete's best before it, course's best before it)`` at its
    station and course; None where there was nothing earlier."""
    marks: dict[str, tuple[float | None, float | None]] = {}
    course_best: dict[Event, float] = {}
    person_best: dict[tuple[str, str, str], float] = {}
    for r in sorted(rows, key=_chrono):
        event = (r.station_id, r.course)
        pkey = (person_key(r) or "", *event)
        marks[r.id] = (person_best.get(pkey), course_best.get(event))
        assert r.time_s is not None
        person_best[pkey] = min(r.time_s, person_best.get(pkey, r.time_s))
        course_best[event] = min(r.time_s, course_best.get(event, r.time_s))
    return marks


def badges(result_id: str, rows: Iterable[ResultRow], people: Mapping[str, Person]) -> Row:
    """PB and record badges of one result, against everything before it at its station and course.
    ``rows`` must include the result and the earlier results of its station."""
    ok = eligible(rows, people)
    target = next((r for r in ok if r.id == result_id), None)
    out: Row = {"result_id": result_id, "pb": False, "record": False, "standing": False, "previous_best_s": None,
                "record_before_s": None}
    if target is None:
        return out
    same = [r for r in ok if (r.station_id, r.course) == (target.station_id, target.course)]
    prev_person, prev_course = history_marks(same)[result_id]
    assert target.time_s is not None
    record = prev_course is not None and target.time_s < prev_course
    out.update(previous_best_s=prev_person, record_before_s=prev_course,
               pb=prev_person is not None and target.time_s < prev_person,
               record=record, standing=record and min(same, key=_order).id == result_id)
    return out


def station_board(rows: Iterable[ResultRow], people: Mapping[str, Person], station_id: str, since: float,
                  until: float, limit: int = 10) -> Row:
    """Best time per athlete in ``[since, until)`` at ``station_id``, on the course of its latest
    result there. ``pb`` marks a best that beat the athlete's earlier results; ``record`` marks only
    the standing record: the course's best ever, when it beat an earlier result as it was set (so one
    row at most, and none when the record was set on an earlier day)."""
    at = eligible((r for r in rows if r.station_id == station_id), people)
    window = [r for r in at if since <= r.finished_at < until]
    if not window:
        return {"course": None, "rows": []}
    course = max(window, key=_chrono).course
    on_course = [r for r in at if r.course == course]
    marks = history_marks(on_course)
    holder = min((r for r in on_course if r.finished_at < until), key=_order).id  # the standing record
    today = [r for r in window if r.course == course]
    attempts: dict[str, int] = defaultdict(int)
    for r in today:
        attempts[person_key(r) or ""] += 1
    ordered = sorted(best_by_person(today).values(), key=_order)
    ranks = competition_ranks([r.time_s for r in ordered])
    out = []
    for rank, r in list(zip(ranks, ordered))[:limit]:
        prev_person, prev_course = marks[r.id]
        assert r.time_s is not None
        out.append({"rank": rank, **_who(r, people), "time_s": r.time_s, "result_id": r.id,
                    "finished_at": r.finished_at, "attempts": attempts[person_key(r) or ""],
                    "pb": prev_person is not None and r.time_s < prev_person,
                    "record": r.id == holder and prev_course is not None and r.time_s < prev_course})
    return {"course": course, "rows": out}


def class_board(rows: Iterable[ResultRow], people: Mapping[str, Person], class_id: str,
                limit: int = 10) -> Row:
    """The class overall: per station and course that at least :data:`MIN_FIELD` athletes ran,
    ``points = 100 × best time there ÷ athlete's best time there`` (one decimal); the score is the sum
    over stations, so running every station counts. A station run by one athlete so far scores
    nothing (after one heat everyone would be first with 100): until some station has two athletes the
    board is empty, and the wall skips it. Sorted by score, then more stations, then name."""
    ok = eligible((r for r in rows if r.class_id == class_id), people)
    events: dict[Event, list[ResultRow]] = defaultdict(list)
    for r in ok:
        events[(r.station_id, r.course)].append(r)
    scores: dict[str, Row] = {}
    for (station_id, course), event_rows in sorted(events.items()):
        bests = best_by_person(event_rows)
        if len(bests) < MIN_FIELD:
            continue
        top = min(b.time_s for b in bests.values() if b.time_s is not None)
        for key, b in bests.items():
            assert b.time_s is not None
            points = round(100.0 * top / b.time_s, 1)
            entry = scores.setdefault(key, {**_who(b, people), "points": 0.0, "events": []})
            entry["events"].append({"station_id": station_id, "course": course, "time_s": b.time_s,
                                    "points": points})
            entry["points"] = round(entry["points"] + points, 1)
    ordered = sorted(scores.items(), key=lambda kv: (-kv[1]["points"], -len(kv[1]["events"]),
                                                     kv[1]["athlete"].casefold(), kv[0]))
    ranks = competition_ranks([e["points"] for _, e in ordered])
    return {"rows": [{"rank": rank, **entry, "stations": len(entry["events"])}
                     for rank, (_, entry) in list(zip(ranks, ordered))[:limit]]}


def pb_board(rows: Iterable[ResultRow], people: Mapping[str, Person], since: float, until: float,
             limit: int = 10) -> Row:
    """Personal bests set in ``[since, until)``: the best PB per athlete, station and course, with the
    best it beat; sorted by improvement (percent), then newest."""
    ok = eligible(rows, people)
    slot = lambda r: (person_key(r) or "", r.station_id, r.course)  # noqa: E731
    recent = {slot(r) for r in ok if since <= r.finished_at < until}
    ok = [r for r in ok if slot(r) in recent]  # only the history of athletes who ran in the window
    marks = history_marks(ok)
    best: dict[tuple[str, str, str], tuple[ResultRow, float]] = {}
    for r in ok:
        prev = marks[r.id][0]
        if not since <= r.finished_at < until or prev is None or r.time_s is None or r.time_s >= prev:
            continue
        key = slot(r)
        if key not in best or _order(r) < _order(best[key][0]):
            best[key] = (r, prev)
    entries = []
    for r, prev in best.values():
        assert r.time_s is not None
        entries.append({**_who(r, people), "station_id": r.station_id, "course": r.course,
                        "distance_m": r.distance_m, "time_s": r.time_s, "previous_best_s": prev,
                        "improvement_s": round(prev - r.time_s, 3), "improvement_pct": _pct(prev, r.time_s),
                        "result_id": r.id, "finished_at": r.finished_at})
    entries.sort(key=lambda e: (-e["improvement_pct"], -e["finished_at"], e["result_id"]))
    ranks = competition_ranks([e["improvement_pct"] for e in entries])
    return {"rows": [{"rank": rank, **e} for rank, e in list(zip(ranks, entries))[:limit]]}


def records_board(rows: Iterable[ResultRow], people: Mapping[str, Person],
                  station_order: Sequence[str] = ()) -> Row:
    """The all-time best per station and course, stations in ``station_order`` (others after, by id)."""
    by_event: dict[Event, list[ResultRow]] = defaultdict(list)
    for r in eligible(rows, people):
        by_event[(r.station_id, r.course)].append(r)
    position = {sid: i for i, sid in enumerate(station_order)}
    out = []
    for (station_id, course) in sorted(by_event, key=lambda e: (position.get(e[0], len(position)), e[0], e[1])):
        r = min(by_event[(station_id, course)], key=_order)
        out.append({"station_id": station_id, "course": course, "distance_m": r.distance_m, "time_s": r.time_s,
                    **_who(r, people), "result_id": r.id, "finished_at": r.finished_at})
    return {"rows": out}


def class_starts(rows: Iterable[ResultRow]) -> dict[str, float]:
    """When each class began, as the time of its first result."""
    starts: dict[str, float] = {}
    for r in rows:
        if r.class_id and (r.class_id not in starts or r.finished_at < starts[r.class_id]):
            starts[r.class_id] = r.finished_at
    return starts


def improved_board(rows: Iterable[ResultRow], people: Mapping[str, Person], class_id: str,
                   limit: int = 10) -> Row:
    """Most improved in ``class_id`` against each athlete's previous class (the latest earlier class
    with a result of theirs): the mean of ``100 × (before − now) ÷ before`` over the stations and
    courses run in both classes, best times each. Only athletes who got faster are listed."""
    ok = eligible(rows, people)
    starts = class_starts(ok)
    if class_id not in starts:
        return {"rows": []}
    people_here = {person_key(r) for r in ok if r.class_id == class_id}
    bests: dict[tuple[str, str], dict[Event, ResultRow]] = defaultdict(dict)  # (person, class) -> event -> best
    classes_of: dict[str, set[str]] = defaultdict(set)
    for r in ok:
        person = person_key(r) or ""
        if r.class_id is None or person not in people_here:
            continue
        slot = bests[(person, r.class_id)]
        classes_of[person].add(r.class_id)
        event = (r.station_id, r.course)
        if event not in slot or _order(r) < _order(slot[event]):
            slot[event] = r
    entries = []
    for person in sorted(people_here, key=str):
        now = bests[(person or "", class_id)]
        earlier = [c for c in classes_of[person or ""] if c != class_id and starts[c] < starts[class_id]]
        if not earlier:
            continue
        prev_class = max(earlier, key=lambda c: (starts[c], c))
        before = bests[(person, prev_class)]
        gains = sorted(((_pct(before[e].time_s, now[e].time_s), e) for e in now if e in before),  # type: ignore[arg-type]
                       reverse=True)
        if not gains:
            continue
        mean = round(sum(g for g, _ in gains) / len(gains), 1)
        if mean <= 0:
            continue
        top_gain, (station_id, course) = gains[0]
        sample = next(iter(now.values()))
        entries.append({**_who(sample, people), "improvement_pct": mean, "stations": len(gains),
                        "previous_class_id": prev_class,
                        "best": {"station_id": station_id, "course": course, "time_s": now[(station_id, course)].time_s,
                                 "previous_time_s": before[(station_id, course)].time_s,
                                 "improvement_pct": top_gain}})
    entries.sort(key=lambda e: (-e["improvement_pct"], e["athlete"].casefold(), e["member_id"] or ""))
    ranks = competition_ranks([e["improvement_pct"] for e in entries])
    return {"rows": [{"rank": rank, **e} for rank, e in list(zip(ranks, entries))[:limit]]}
