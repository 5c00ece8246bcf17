"""Protocol.handle survives anything: >= 10,000 generated payloads, each counted, nothing raised."""

from __future__ import annotations

import functools
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from server.protocol import MAX_PAYLOAD_BYTES, MAX_SAMPLES_PER_BATCH, NODE_TO_HUB, Protocol
from server.protocol.messages import Inbound
from tests.protocol import factory as f

TYPES = list(NODE_TO_HUB) + ["cmd", "clock/ping"]
INBOUND_TYPES = Inbound.__args__

node_ids = st.one_of(st.sampled_from(["sled1", "gate-2", "n_3"]), st.text("ab-_Z9", min_size=1, max_size=70),
                     st.text(max_size=8))
topics = st.one_of(
    st.builds(f.topic, st.sampled_from(TYPES), node_ids),
    st.builds(lambda t, n: f"sledhub/v1/node/{n}/{t}", st.text(max_size=12), node_ids),
    st.text(max_size=60),
)

huge_numbers = st.one_of(
    st.integers(min_value=-(10**30), max_value=10**30),
    st.sampled_from([2**53, 2**63 - 1, 2**63, -(2**63) - 1, 10**400]),
    st.floats(allow_nan=False, allow_infinity=False),
)
json_values = st.one_of(
    st.none(), st.booleans(), huge_numbers, st.text(max_size=20),
    st.lists(huge_numbers, max_size=3), st.dictionaries(st.text(max_size=4), st.integers(), max_size=2),
)
valid_messages = st.tuples(st.sampled_from(sorted(f.VALID)), st.integers(0, 50)).map(
    lambda p: (p[0], f.VALID[p[0]](seq=p[1]) if p[0] in ("evt", "tel") else f.VALID[p[0]]()))


def wrong_type(pair, key_pick, value):
    msg_type, obj = pair
    key = sorted(obj)[key_pick % len(obj)]
    return f.topic(msg_type), json.dumps({**obj, key: value}).encode()


def spliced_token(pair, key_pick, token):
    """A valid message with one field's value replaced by raw text (NaN, 1e999, ...)."""
    msg_type, obj = pair
    key = sorted(obj)[key_pick % len(obj)]
    text = json.dumps({**obj, key: "@@"}).replace('"@@"', token)
    return f.topic(msg_type), text.encode()


def mutated_bytes(pair, pos, byte, op):
    msg_type, obj = pair
    data = bytearray(json.dumps(obj).encode())
    i = pos % len(data)
    if op == 0:
        data[i] = byte
    elif op == 1:
        data.insert(i, byte)
    else:
        del data[i]
    return f.topic(msg_type), bytes(data)


@functools.cache
def _batch_of(n: int) -> bytes:
    return f.encode(f.tel(seq=0, n=n))


def big_batch(n, seq):
    """A telemetry batch around the 512-sample limit (built once per size; the seq varies)."""
    return f.topic("tel"), _batch_of(n).replace(b'"seq":0', b'"seq":%d' % seq, 1)


def padded(target_len):
    """A valid event padded with an unknown field to exactly ``target_len`` bytes."""
    base = f.encode(f.evt(seq=target_len, pad=""))
    return f.topic("evt"), base.replace(b'"pad":""', b'"pad":"' + b"x" * (target_len - len(base)) + b'"')


payloads = st.one_of(
    st.tuples(topics, st.binary(max_size=300)),                                        # random bytes
    st.tuples(st.builds(f.topic, st.sampled_from(TYPES)), st.binary(max_size=64)),
    st.builds(wrong_type, valid_messages, st.integers(0, 20), json_values),            # wrong types
    st.builds(spliced_token, valid_messages, st.integers(0, 20),
              st.sampled_from(["NaN", "Infinity", "-Infinity", "1e999", "-1e999", "1" * 5000, "1e-999",
                               "[[[[[[[[", "{}", "true", "null", '"\\ud800"'])),          # huge numbers, tokens
    st.builds(mutated_bytes, valid_messages, st.integers(0, 10_000), st.integers(0, 255), st.integers(0, 2)),
    st.tuples(topics, st.builds(lambda m: f.encode(m[1]), valid_messages)),             # unknown topics
    st.builds(big_batch, st.integers(MAX_SAMPLES_PER_BATCH - 8, MAX_SAMPLES_PER_BATCH + 8),  # oversized batches
              st.integers(0, 10**6)),
    st.builds(padded, st.integers(MAX_PAYLOAD_BYTES - 3, MAX_PAYLOAD_BYTES + 3)),
    st.builds(lambda m: (f.topic(m[0]), f.encode(m[1])), valid_messages),               # plain valid ones
)


@pytest.mark.slow
def test_ten_thousand_generated_payloads_are_each_counted_and_nothing_escapes():
    proto = Protocol()
    sent = 0
    results = {"accepted": 0, "rejected": 0}

    @settings(max_examples=10_000, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(payloads, st.integers(0, 2**63 - 1))
    def one(message, rx_us):
        nonlocal sent
        topic, payload = message
        out = proto.handle(topic, payload, rx_us)  # an exception here fails the test
        sent += 1
        assert type(out) is list and len(out) <= 1
        results["accepted" if out else "rejected"] += 1
        for item in out:
            assert isinstance(item, INBOUND_TYPES) and item.rx_us == rx_us

    one()
    stats = proto.stats()
    assert sent >= 10_000
    assert stats["accepted"] + stats["rejected"] == sent
    assert (stats["accepted"], stats["rejected"]) == (results["accepted"], results["rejected"])
    assert stats["accepted"] > 500 and stats["rejected"] > 5000  # both paths were exercised
    assert stats["rejected_by_reason"].get("internal_error", 0) == 0
    for reason in ("bad_json", "bad_number", "bad_field", "unknown_topic", "oversized", "too_many_samples",
                   "duplicate"):
        assert stats["rejected_by_reason"].get(reason), (reason, stats["rejected_by_reason"])


def test_the_size_limit_is_exact():
    proto = Protocol()
    assert proto.handle(*padded(MAX_PAYLOAD_BYTES), 0)
    assert proto.handle(*padded(MAX_PAYLOAD_BYTES + 1), 0) == []
    assert proto.stats()["rejected_by_reason"] == {"oversized": 1}
