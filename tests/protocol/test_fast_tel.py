"""The msgspec fast path for ``tel`` agrees with the stdlib path (``parse_payload`` + ``check_tel``).

``decode_tel`` may decline (return None) — the stdlib path then decides — but whatever it returns must
be exactly what the stdlib path returns, and a well-formed batch must not be declined (or the hub
would quietly lose the speed it was built for).
"""

from __future__ import annotations

import json
import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from server.protocol.fast_tel import decode_tel
from server.protocol.validate import Reject, check_tel, parse_payload

NODE = "sled1"


def described(boot_id, sensor, allowed):
    return True


def slow(payload: bytes):
    """The stdlib path's answer: the batch, or the reject reason."""
    try:
        return check_tel(NODE, parse_payload(payload), 7, described)
    except Reject as r:
        return r.reason


def agree(payload: bytes):
    fast = decode_tel(NODE, payload, 7, described)
    expected = slow(payload)
    if fast is not None:
        assert fast == expected, payload
        assert [type(x) for s in fast.samples for x in s] == [type(x) for s in expected.samples for x in s]
    return fast, expected


def batch(**fields) -> dict:
    base = {"v": 1, "boot_id": "b1", "seq": 3, "sensor": "wheel", "kind": "position",
            "samples": [[1_000_000 + i * 2500, 1.25 + i * 0.005, 1234 + i] for i in range(15)]}
    base.update(fields)
    return base


def test_a_wheel_and_a_force_batch_take_the_fast_path():
    for obj in (batch(), batch(sensor="lc1", kind="force", samples=[[5, -12.5, -84120], [5, 0, 3], [9, 1e300, 2**63 - 1]])):
        fast, expected = agree(json.dumps(obj).encode())
        assert fast is not None and fast == expected


@pytest.mark.parametrize("text", [
    b'{"v":1,"boot_id":"b1","seq":1,"sensor":"w","kind":"position","samples":[[1,1e400,1]]}',   # bad_number
    b'{"v":1,"boot_id":"b1","seq":1,"sensor":"w","kind":"position","samples":[[1,NaN,1]]}',
    b'{"v":1,"boot_id":"b1","seq":1,"sensor":"w","kind":"position","samples":[[1,Infinity,1]]}',
    b'{"v":1,"boot_id":"b1","seq":1,"sensor":"w","kind":"position","samples":[[5.0,1.5,1]]}',   # integral float: ok
    b'{"v":1.0,"boot_id":"b1","seq":1,"sensor":"w","kind":"position","samples":[[5,1.5,1]]}',
    b'{"v":2,"boot_id":"b1","seq":1,"sensor":"w","kind":"position","samples":[[5,1.5,1]]}',
    b'{"v":1,"boot_id":"b1","seq":1,"sensor":"w","kind":"position","samples":[[5,true,1]]}',
    b'{"v":1,"boot_id":"b1","seq":1,"sensor":"w","kind":"position","samples":[[5,null,1]]}',
    b'{"v":1,"boot_id":"b1","seq":1,"sensor":"w","kind":"position","samples":[[5,1.5]]}',
    b'{"v":1,"boot_id":"b1","seq":1,"sensor":"w","kind":"position","samples":[]}',
    b'{"v":1,"boot_id":"b1","seq":1,"sensor":"w","kind":"position","samples":[[9,1,1],[5,1,1]]}',  # order
    b'{"v":1,"boot_id":"b1","seq":1,"sensor":"w","kind":"speed","samples":[[5,1.5,1]]}',
    b'{"v":1,"boot_id":"b 1","seq":1,"sensor":"w","kind":"position","samples":[[5,1.5,1]]}',
    b'{"v":1,"boot_id":"b1","seq":-1,"sensor":"w","kind":"position","samples":[[5,1.5,1]]}',
    b'{"v":1,"boot_id":"b1","seq":9007199254740992,"sensor":"w","kind":"position","samples":[[5,1.5,1]]}',
    b'{"v":1,"boot_id":"b1","seq":1,"sensor":"w","kind":"position","samples":[[9223372036854775808,1.5,1]]}',
    b'{"v":1,"boot_id":"b1","seq":1,"sensor":"w","kind":"position","samples":[[5,1.5,-9223372036854775809]]}',
    b'{"v":1,"boot_id":"b1","seq":1,"sensor":"w","kind":"position","samples":[[5,' + b"9" * 400 + b',1]]}',
    b'{"v":1,"boot_id":"b1","seq":1,"sensor":"w","kind":"position","samples":[[5,1.5,1]]} x',
    b'\xef\xbb\xbf{"v":1,"boot_id":"b1","seq":1,"sensor":"w","kind":"position","samples":[[5,1.5,1]]}',
    b'{"v":1,"v":2,"boot_id":"b1","seq":1,"sensor":"w","kind":"position","samples":[[5,1.5,1]]}',
    b'{"v":2,"v":1,"boot_id":"b1","seq":1,"sensor":"w","kind":"position","samples":[[5,1.5,1]]}',
    b'{"v":1,"boot_id":"b1","seq":1,"sensor":"w","kind":"position","samples":[[5,1.5,1]],"x":[[[[[[[[[[1]]]]]]]]]]}',
    b'{"v":1,"boot_id":"b1","seq":1,"sensor":"w","kind":"position","samples":[[5,1.5e-400,1]]}',
    b'{"v":1,"boot_id":"b1","seq":1,"sensor":"\xff","kind":"position","samples":[[5,1.5,1]]}',
    b'{"v":1,"boot_id":"b1","seq":1,"sensor":"\\ud800","kind":"position","samples":[[5,1.5,1]]}',
    b'[1,2]', b'"tel"', b'', b'{}', b'{' * 100_000,
])
def test_odd_payloads_agree(text):
    agree(text)


def test_oversized_and_non_bytes_payloads_are_left_to_the_stdlib_path():
    big = json.dumps(batch(pad="x" * 70_000)).encode()
    assert decode_tel(NODE, big, 7, described) is None and slow(big) == "oversized"
    assert decode_tel(NODE, bytearray(json.dumps(batch()).encode()), 7, described) is None


def test_the_sensor_check_runs_once_and_its_reject_stands():
    calls = []

    def refuse(boot_id, sensor, allowed):
        calls.append((boot_id, sensor, allowed))
        raise Reject("unknown_sensor", sensor)

    with pytest.raises(Reject, match="unknown_sensor"):
        decode_tel(NODE, json.dumps(batch()).encode(), 7, refuse)
    assert calls == [("b1", "wheel", frozenset({"encoder"}))]


ID_CHARS = string.ascii_letters + string.digits + "_-"
ids = st.one_of(st.sampled_from(["b1", "wheel", "lc1", "Z" * 64, "Z" * 65, "", "a b", "é"]),
                st.text(ID_CHARS, min_size=1, max_size=8))
ints = st.one_of(st.integers(-5, 10**6), st.sampled_from([2**53 - 1, 2**53, 2**63 - 1, 2**63, -(2**63), -(2**63) - 1]))
values = st.one_of(st.floats(allow_nan=False, allow_infinity=False), st.integers(-(10**20), 10**20),
                   st.sampled_from([None, True, "1", 5.0]))
sample = st.one_of(st.tuples(ints, values, ints).map(list),
                   st.tuples(st.floats(0, 1e6, allow_nan=False).map(float), values, ints).map(list),
                   st.lists(ints, max_size=4))
fields = st.fixed_dictionaries({}, optional={
    "v": st.sampled_from([1, 1.0, 2, "1", None]), "boot_id": ids, "seq": ints, "sensor": ids,
    "kind": st.sampled_from(["position", "force", "break", "", None]),
    "samples": st.one_of(st.lists(sample, max_size=6), st.lists(sample, min_size=1, max_size=3).map(
        lambda s: sorted(s, key=lambda x: x[0] if x and isinstance(x[0], (int, float)) else 0))),
    "extra": st.sampled_from([1, [1], {"a": None}]),
})


@settings(max_examples=1500, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(fields)
def test_generated_payloads_agree(obj):
    agree(json.dumps(obj).encode())


@settings(max_examples=300, deadline=None, database=None)
@given(st.lists(st.tuples(st.integers(0, 2**62), st.floats(-1e12, 1e12, allow_nan=False), ints.filter(
    lambda r: -(2**63) <= r < 2**63)).map(list), min_size=1, max_size=50).map(lambda s: sorted(s, key=lambda x: x[0])))
def test_every_well_formed_batch_takes_the_fast_path(samples):
    fast, expected = agree(json.dumps(batch(samples=samples)).encode())
    assert fast is not None
