"""The suite's own judge: a stored result that is off by more than the limits is reported wrong."""

from __future__ import annotations

from tests.accuracy.check import Outcome, compare, failed, table
from tests.accuracy.truth import Expected

GO_US = 10_000_000
EXP = Expected("OK", time_us=3_000_000.0, reaction_us=200_000.0, splits_us=[1_500_000.0],
               force={"mean_force_n": 100.0})


def row(**over):
    base = {"status": "OK", "start_t_us": GO_US, "finish_t_us": GO_US + 3_000_000, "time_s": 3.0,
            "reaction_s": 0.2, "splits_s": [1.5], "metrics": {"mean_force_n": 100.0}}
    return {**base, **over}


def judge(r, expected=EXP, got="OK", copies=1):
    out = Outcome(0, "s", "lane", "none", expected.status, got, copies)
    compare(out, expected, r, GO_US)
    return out


def test_an_exact_result_passes():
    assert failed([judge(row())]) == []


def test_each_field_off_by_more_than_its_limit_fails():
    wrong = [row(finish_t_us=GO_US + 3_001_100), row(time_s=3.002), row(reaction_s=0.2016),
             row(splits_s=[1.4984]), row(splits_s=[None]), row(metrics={"mean_force_n": 101.2}),
             row(start_t_us=GO_US + 1_200, finish_t_us=GO_US + 3_001_200)]
    for r in wrong:
        assert failed([judge(r)]), r


def test_within_the_rounding_passes():
    assert failed([judge(row(time_s=3.001, reaction_s=0.201, finish_t_us=GO_US + 3_000_900))]) == []


def test_wrong_status_missing_and_doubled_fail_and_are_counted():
    outs = [judge(row(status="DNF"), got="DNF"), judge(row(), got=None, copies=0), judge(row(), copies=2)]
    assert len(failed(outs)) == 3
    text = table(outs)
    cells = [c.strip() for c in text.splitlines()[2].split("|")]
    assert cells[2:6] == ["3", "1", "1", "1"]        # runs, statuses right, missing, doubled


def test_looser_limits_judge_the_same_errors_differently():
    from tests.accuracy.check import Limits
    out = judge(row(finish_t_us=GO_US + 3_001_500))          # 1.5 ms off on the µs field
    assert failed([out]) and not failed([out], Limits(us_ms=2.0))
