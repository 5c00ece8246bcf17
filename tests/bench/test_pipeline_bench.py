"""bench.pipeline_bench's real-time replay hands every recorded message to a real hub's pipeline thread."""

from bench.pipeline_bench import record, replay_real_time
from bench.plan import Plan


def test_the_real_time_replay_feeds_every_message_to_the_pipeline_at_its_pace():
    plan = Plan()
    ops = record(plan, 1.5)
    out = replay_real_time(ops, plan, clients=2)
    assert out["messages"] > 100 and out["accepted"] == out["messages"]
    assert out["pipeline_errors"] == 0
    assert out["wall_s"] >= 1.4   # at the recording's pace, not back to back
    assert out["cpu_pct"] > 0
