"""Dedupe by (node, boot_id, seq), gap counting, late seqs, reboots."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from server.protocol import Protocol
from server.protocol.sequence import DUPLICATE, FILLED, LATE, NEW, SeqTracker
from tests.protocol import factory as f
from tests.protocol.factory import send


def feed(tracker: SeqTracker, seqs) -> list[str]:
    return [tracker.add(s) for s in seqs]


def test_in_order_stream_has_no_gaps_and_no_holes():
    t = SeqTracker()
    assert feed(t, range(10_000)) == [NEW] * 10_000
    assert (t.missing, t.holes, t.next) == (0, 0, 10_000)


def test_skips_are_gaps_and_late_arrivals_fill_them():
    t = SeqTracker()
    assert feed(t, [0, 1, 5, 9]) == [NEW] * 4
    assert t.missing == 3 + 3
    assert feed(t, [3, 2, 4, 7]) == [FILLED] * 4
    assert t.missing == 2 and t.holes == 2  # 6 and 8 still missing
    assert feed(t, [3, 5, 0]) == [DUPLICATE] * 3
    assert feed(t, [8, 6]) == [FILLED] * 2 and (t.missing, t.holes) == (0, 0)


def test_tracking_that_starts_mid_boot_does_not_count_what_came_before():
    t = SeqTracker()
    assert feed(t, [5000, 5001]) == [NEW, NEW] and t.missing == 0
    assert t.add(4990) == FILLED and t.missing == 0  # a retry from before the hub started: kept once
    assert t.add(4990) == DUPLICATE


def test_memory_is_bounded_and_forgotten_holes_make_seqs_late():
    t = SeqTracker(max_holes=3)
    feed(t, [0, 2, 4, 6, 8, 10])  # holes 1, 3, 5, 7, 9: the two oldest are forgotten
    assert t.holes == 3 and t.floor == 4 and t.missing == 5
    assert t.add(1) == LATE and t.add(3) == LATE and t.add(2) == LATE  # below floor: cannot tell
    assert t.add(5) == FILLED and t.add(6) == DUPLICATE
    assert t.missing == 4  # forgotten holes stay counted as lost


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(0, 300), max_size=400))
def test_tracker_matches_a_set_model(seqs):
    """With room for every hole, the tracker decides exactly like 'have I seen this seq?'."""
    t = SeqTracker(max_holes=10_000)
    seen: set[int] = set()
    for s in seqs:
        verdict = t.add(s)
        assert (verdict == DUPLICATE) == (s in seen)
        seen.add(s)
        first = seqs[0]
        top = max(seen)
        assert t.missing == sum(1 for x in range(first + 1, top) if x not in seen)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 200), max_size=300), st.integers(1, 8))
def test_bounded_tracker_never_accepts_a_duplicate(seqs, max_holes):
    t = SeqTracker(max_holes=max_holes)
    kept: set[int] = set()
    for s in seqs:
        if t.add(s) in (NEW, FILLED):
            assert s not in kept
            kept.add(s)
        assert t.holes <= max_holes


# through Protocol --------------------------------------------------------------------------------

def test_duplicates_are_dropped_and_counted_per_boot():
    p = Protocol()
    assert send(p, "evt", f.evt(seq=0)) and send(p, "tel", f.tel(seq=1))
    assert send(p, "evt", f.evt(seq=0)) == [] and send(p, "tel", f.tel(seq=1)) == []
    s = p.stats()
    assert (s["accepted"], s["duplicates"], s["rejected"], s["gaps"]) == (2, 2, 2, 0)


def test_evt_and_tel_share_one_sequence():
    p = Protocol()
    send(p, "evt", f.evt(seq=0))
    assert send(p, "tel", f.tel(seq=0)) == []  # same (node, boot, seq)
    assert p.stats()["duplicates"] == 1


def test_gaps_count_then_shrink_as_retries_fill_them():
    p = Protocol()
    for seq in (0, 1, 4):
        send(p, "evt", f.evt(seq=seq))
    assert p.stats()["gaps"] == 2
    assert send(p, "evt", f.evt(seq=3))
    assert p.stats()["gaps"] == 1 and p.stats()["nodes"]["sled1"]["gaps"] == 1


def test_a_new_boot_restarts_the_sequence():
    p = Protocol()
    for seq in range(5):
        send(p, "evt", f.evt(seq=seq))
    send(p, "status", f.status(boot_id="b2"))
    assert send(p, "evt", f.evt(seq=0, boot_id="b2"))  # not a duplicate: another boot
    assert send(p, "evt", f.evt(seq=4, boot_id="b1")) == []  # the old boot is still deduped
    assert send(p, "evt", f.evt(seq=5, boot_id="b1"))  # a backlog of the old boot is still accepted
    assert p.stats()["gaps"] == 0 and p.stats()["nodes"]["sled1"]["boot_id"] == "b2"


def test_old_boots_are_forgotten_but_their_gaps_stay_counted():
    p = Protocol(boots_per_node=2)
    send(p, "status", f.status(boot_id="b1"))
    send(p, "evt", f.evt(seq=0, boot_id="old"))
    send(p, "evt", f.evt(seq=3, boot_id="old"))  # 2 missing
    send(p, "evt", f.evt(seq=0, boot_id="newer"))  # "old" is forgotten (b1 is current, kept)
    assert p.stats()["gaps"] == 2
    assert send(p, "evt", f.evt(seq=0, boot_id="old"))  # a fresh tracker: cannot know it was seen


def test_late_seq_is_rejected_as_late():
    p = Protocol(max_holes=1)
    for seq in (0, 2, 4):
        send(p, "evt", f.evt(seq=seq))
    assert send(p, "evt", f.evt(seq=1)) == []
    s = p.stats()
    assert s["late"] == 1 and s["rejected_by_reason"] == {"late": 1}


def test_a_rejected_message_does_not_take_its_seq():
    p = Protocol()
    send(p, "desc", f.desc())
    assert send(p, "evt", f.evt(seq=0, sensor="nope")) == []
    assert send(p, "evt", f.evt(seq=0))  # the valid retry is not a "duplicate"


def test_a_tracker_survives_export_and_restore():
    from server.protocol.sequence import DUPLICATE, FILLED, NEW, SeqTracker
    t = SeqTracker()
    for seq in (5, 6, 9, 12):
        t.add(seq)
    copy = SeqTracker.restore(t.export())
    assert (copy.next, copy.missing, copy.holes) == (13, 4, 3)
    assert [copy.add(s) for s in (6, 7, 3, 13)] == [DUPLICATE, FILLED, FILLED, NEW]
    assert copy.missing == 3
