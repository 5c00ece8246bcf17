"""The hand validator and the public JSON Schemas agree.

For schema-valid messages and for mutations of them, the validator accepts exactly what the schema
accepts, except for the documented semantic checks (``SEMANTIC_REASONS``), each of which must really
apply when it is the reason given.
"""

from __future__ import annotations

import copy
import json
import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from server.protocol import SEMANTIC_REASONS, Reject, check_command, make_command, make_ping
from server.protocol.validate import CHECKERS, parse_payload
from tests.protocol.schemas import SCHEMA_DIR, schema_name, validator

NODE = "sled1"
ID_CHARS = string.ascii_letters + string.digits + "_-"
PRINTABLE_ASCII = "".join(map(chr, range(0x20, 0x7F)))

ids = st.one_of(st.sampled_from(["sled1", "b1", "lc1", "gate1", "c17", "a", "-_-", "Z" * 64]),
                st.text(ID_CHARS, min_size=1, max_size=64))
seqs = st.one_of(st.integers(0, 1000), st.sampled_from([0, 2**53 - 1]))
t_us = st.one_of(st.integers(0, 10**12), st.sampled_from([0, 2**63 - 1]))
numbers = st.one_of(st.integers(-(10**6), 10**6), st.floats(-1e9, 1e9, allow_nan=False))
free = st.dictionaries(st.sampled_from(["pin", "a", "b", "reason", "offset_counts", "é"]),
                       st.one_of(st.none(), st.booleans(), numbers, st.sampled_from(["x", "", "a\n"])), max_size=3)


def optional(key, strategy):
    return st.one_of(st.just({}), strategy.map(lambda v: {key: v}))


def merge(*dicts):
    out = {}
    for d in dicts:
        out.update(d)
    return out


KINDS_UNITS = [("load_cell", "N"), ("encoder", "m"), ("beam", None), ("dual_beam", None), ("thermo", "degC"),
               ("thermo", None)]
sensor = st.builds(
    lambda ku, sid, rate, wiring, cal: {"id": sid, "kind": ku[0], "unit": ku[1], "rate_hz": rate, "wiring": wiring,
                                        **cal},
    st.sampled_from(KINDS_UNITS), ids, st.sampled_from([None, 10, 80, 0.5, 1000.0]), free,
    optional("calibration", free))

# calibrate carries the values the hub computed: a load cell's scale (≠ 0) and offset, an encoder's counts
# per metre (> 0) and direction; any non-empty mix (which pair fits is the node's call)
calibrate_params = st.fixed_dictionaries({}, optional={
    "scale_counts_per_n": st.one_of(numbers.filter(lambda x: x != 0), st.sampled_from([2280.0, -2280.0, 1e-9])),
    "offset_counts": st.one_of(numbers, st.sampled_from([0, -84120, 8140.5])),
    "counts_per_m": st.one_of(st.integers(1, 10**6), st.floats(0, 1e9, exclude_min=True), st.just(2000.0)),
    "invert": st.booleans(),
}).filter(bool)

error_texts = st.one_of(st.text(min_size=1, max_size=8), st.just("e" * 256))
samples = st.lists(st.tuples(t_us, numbers, st.integers(-(2**63), 2**63 - 1)), min_size=1, max_size=6).map(
    lambda rows: [[t, v, r] for t, v, r in sorted(rows, key=lambda row: row[0])])

VALID = {
    "status": st.fixed_dictionaries({"v": st.just(1), "node": st.just(NODE), "state": st.sampled_from(
        ["online", "offline"]), "boot_id": ids}),
    "desc": st.fixed_dictionaries({"v": st.just(1), "node": st.just(NODE), "boot_id": ids,
                                   "fw": st.text(PRINTABLE_ASCII, min_size=1, max_size=64),
                                   "sensors": st.lists(sensor, max_size=4, unique_by=lambda s: s["id"])}),
    "evt": st.builds(merge, st.fixed_dictionaries({
        "v": st.just(1), "boot_id": ids, "seq": seqs, "sensor": ids,
        "kind": st.sampled_from(["break", "restore", "fault"]), "t_us": t_us}), optional("detail", free)),
    "tel": st.fixed_dictionaries({"v": st.just(1), "boot_id": ids, "seq": seqs, "sensor": ids,
                                  "kind": st.sampled_from(["force", "position"]), "samples": samples}),
    "ack": st.one_of(
        st.builds(merge, st.fixed_dictionaries({"v": st.just(1), "id": ids, "ok": st.just(True)}),
                  optional("result", free), optional("error", error_texts)),
        st.builds(merge, st.fixed_dictionaries({"v": st.just(1), "id": ids, "ok": st.just(False),
                                                "error": error_texts}),
                  optional("result", free))),
    "health": st.fixed_dictionaries({"v": st.just(1), "boot_id": ids, "uptime_s": st.floats(0, 1e7),
                                     **{k: st.integers(0, 2**53 - 1) for k in (
                                         "dropped_events", "dropped_samples", "hx711_overruns", "hx711_faults",
                                         "encoder_errors", "outbox_depth")}}),
    "clock/pong": st.builds(merge, st.fixed_dictionaries({"v": st.just(1), "boot_id": ids, "n": seqs,
                                                          "t_us": t_us}), optional("t_tx_us", t_us)),
    "cmd": st.one_of(
        st.fixed_dictionaries({"v": st.just(1), "id": ids, "cmd": st.just("tare"), "sensor": ids}),
        st.fixed_dictionaries({"v": st.just(1), "id": ids, "cmd": st.just("tare"), "sensor": ids,
                               "params": st.fixed_dictionaries({"samples": st.integers(1, 255)})}),
        st.fixed_dictionaries({"v": st.just(1), "id": ids, "cmd": st.just("calibrate"), "sensor": ids,
                               "params": calibrate_params}),
        st.fixed_dictionaries({"v": st.just(1), "id": ids, "cmd": st.just("set_rate"), "sensor": ids,
                               "params": st.fixed_dictionaries({"rate_hz": st.sampled_from([10, 80, 0.5])})}),
        st.fixed_dictionaries({"v": st.just(1), "id": ids, "cmd": st.just("configure"), "sensor": ids,
                               "params": st.dictionaries(ids, st.one_of(st.none(), st.booleans(), numbers,
                                                                        st.text(max_size=5)),
                                                         min_size=1, max_size=4)}),
        st.fixed_dictionaries({"v": st.just(1), "id": ids, "cmd": st.just("rebirth")}),
    ),
}

# values a mutation may put anywhere: wrong types, boundaries, near-miss strings and enum values
POOL = [None, True, False, 0, -1, 1, 1.0, 1.5, -0.5, 2, 2**53 - 1, 2**53, 2**63 - 1, 2**63, -(2**63),
        -(2**63) - 1, 1e300, "", "x", "a b", "a\n", "é", "x" * 64, "x" * 65, "x" * 257, "\x7f", [], [1, 2, 3],
        [[1, 2.0, 3]], {}, {"a": 1}, "online", "offline", "break", "restore", "fault", "force", "position",
        "load_cell", "encoder", "beam", "dual_beam", "N", "m", "tare", "rebirth", "configure", "sled2", 255, 256,
        {f"k{i}": 1 for i in range(33)}]
ADDED_KEYS = ["extra", "sensor", "params", "error", "result", "detail", "calibration", "t_tx_us", "known_force_n",
              "counts_per_m", "invert"]
ADDED_VALUES = ["lc1", 1, 0, None, {}, "x"]
BAD_KEYS = ["", "a b", "k" * 65, "é"]


def paths(obj, prefix=()):
    """Every (container path, key) in ``obj``: dict keys and list indices, depth first."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield prefix, k
            yield from paths(v, prefix + (k,))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield prefix, i
            yield from paths(v, prefix + (i,))


@st.composite
def mutated(draw, msg_type):
    obj = copy.deepcopy(draw(VALID[msg_type]))  # never mutate what a strategy may hand out again
    for _ in range(draw(st.integers(1, 2))):
        spots = list(paths(obj))
        if not spots:
            break
        prefix, key = draw(st.sampled_from(spots))
        parent = obj
        for step in prefix:
            parent = parent[step]
        op = draw(st.sampled_from(["delete", "replace", "replace", "add"]))
        if op == "delete":
            del parent[key]
        elif op == "replace":
            parent[key] = copy.deepcopy(draw(st.sampled_from(POOL)))
        elif isinstance(parent, dict):
            parent[draw(st.sampled_from(["extra", "detail", "result", "error", "t_tx_us", "calibration",
                                         "params", "sensor", "known_force_n", "scale_counts_per_n",
                                         "offset_counts", "counts_per_m", "invert"]))] = \
                copy.deepcopy(draw(st.sampled_from(POOL)))
        else:
            parent.append(copy.deepcopy(draw(st.sampled_from(POOL))))
    return obj


def semantic_reason_applies(reason: str, obj: dict) -> bool:
    if reason == "node_mismatch":
        return obj.get("node") != NODE
    if reason == "duplicate_sensor":
        sensor_ids = [s["id"] for s in obj["sensors"]]
        return len(set(sensor_ids)) < len(sensor_ids)
    if reason == "t_us_order":
        times = [s[0] for s in obj["samples"]]
        return times != sorted(times)
    return False  # the others need state or raw text, which this test never produces


def permissive(boot_id, sensor, kinds):
    return False  # no descriptor known: every sensor id passes


def hand_verdict(msg_type: str, obj: dict) -> tuple[bool, str | None]:
    """Validate as the hub does, after a JSON round trip (so 5.0 arrives as a float, as on the wire)."""
    try:
        wire = parse_payload(json.dumps(obj).encode())
        if msg_type == "cmd":
            check_command(wire)
        else:
            CHECKERS[msg_type](NODE, wire, 0, permissive)
    except Reject as r:
        return False, r.reason
    return True, None


def assert_agree(msg_type: str, obj: dict) -> None:
    schema_ok = validator(msg_type).is_valid(obj)
    ok, reason = hand_verdict(msg_type, obj)
    if ok:
        assert schema_ok, (msg_type, obj, list(validator(msg_type).iter_errors(obj))[:1])
    elif schema_ok:
        assert reason in SEMANTIC_REASONS and semantic_reason_applies(reason, obj), (msg_type, obj, reason)


TYPES = sorted(VALID)
AGREEMENT = settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.slow
@pytest.mark.parametrize("msg_type", TYPES)
@AGREEMENT
@given(data=st.data())
def test_schema_valid_messages_are_accepted(msg_type, data):
    obj = data.draw(VALID[msg_type])
    assert validator(msg_type).is_valid(obj), obj
    ok, reason = hand_verdict(msg_type, obj)
    assert ok or semantic_reason_applies(reason, obj), (obj, reason)


@pytest.mark.slow
@pytest.mark.parametrize("msg_type", TYPES)
@AGREEMENT
@given(data=st.data())
def test_mutated_messages_get_the_same_verdict(msg_type, data):
    assert_agree(msg_type, data.draw(mutated(msg_type)))


def test_every_schema_is_covered_and_well_formed():
    stems = {p.stem for p in SCHEMA_DIR.glob("*.json")}
    assert stems == {schema_name(t) for t in TYPES} | {"clock_ping"}
    for t in TYPES + ["clock/ping"]:
        assert validator(t).schema["properties"]["v"] == {"type": "integer", "const": 1}


def test_built_commands_and_pings_match_their_schemas():
    for cmd, sensor, params in [("tare", "lc1", None), ("tare", "lc1", {"samples": 16}),
                                ("calibrate", "lc1", {"scale_counts_per_n": 2280.0, "offset_counts": -84120}),
                                ("calibrate", "lc1", {"offset_counts": 8140.5}),
                                ("calibrate", "enc1", {"counts_per_m": 2000.0, "invert": False}),
                                ("set_rate", "lc1", {"rate_hz": 80}),
                                ("configure", "enc1", {"invert": True, "debounce_us": 200}),
                                ("rebirth", None, None)]:
        _, _, payload = make_command("sled1", cmd, sensor, params, cmd_id="c1")
        assert validator("cmd").is_valid(json.loads(payload)), payload
    _, payload = make_ping("sled1", 12)
    assert validator("clock/ping").is_valid(json.loads(payload))


# exhaustive single mutations of rich examples: every field x every pool value, plus deletion --------

def near(value):
    """Boundary neighbours of a value, by type."""
    if isinstance(value, bool):
        return [not value, 0, 1, None, "true"]
    if isinstance(value, int):
        return [value - 1, value + 1, float(value), value + 0.5, -value - 1, str(value)]
    if isinstance(value, float):
        return [int(value), -value, 0.0, -1e-9, str(value)]
    if isinstance(value, str):
        return [value + "\n", value + " ", value * 65, value.upper(), value[:-1], value + "é", None]
    return []


def rich_examples():
    from tests.protocol import factory as f
    examples = [("status", f.status()), ("desc", f.desc()), ("evt", f.evt(detail={"beam": "a"})),
                ("tel", f.tel(kind="position", sensor="enc1", n=3)), ("ack", f.ack()),
                ("ack", {"v": 1, "id": "c9", "ok": False, "error": "busy"}), ("health", f.health()),
                ("clock/pong", f.pong(t_tx_us=5_000_100))]
    for cmd, sensor, params in [("tare", "lc1", {"samples": 16}),
                                ("calibrate", "lc1", {"scale_counts_per_n": 2280.0, "offset_counts": -84120}),
                                ("calibrate", "enc1", {"counts_per_m": 2000.0, "invert": False}),
                                ("calibrate", "enc1", {"invert": True}),  # deleting its key leaves {}
                                ("set_rate", "lc1", {"rate_hz": 80}),
                                ("configure", "enc1", {"invert": True, "debounce_us": 200}),
                                ("rebirth", None, {})]:
        msg = {"v": 1, "id": "c1", "cmd": cmd, "params": params}
        if sensor:
            msg["sensor"] = sensor
        examples.append(("cmd", msg))
    return examples


def containers(obj, prefix=()):
    """Every dict in ``obj`` with its path."""
    if isinstance(obj, dict):
        yield prefix, obj
    for key, value in (obj.items() if isinstance(obj, dict) else enumerate(obj) if isinstance(obj, list) else ()):
        yield from containers(value, prefix + (key,))


def single_mutations(obj):
    for prefix, d in containers(obj):
        for key in ADDED_KEYS + list(d):
            for value in ADDED_VALUES if key not in d else ():
                mutant = copy.deepcopy(obj)
                target = mutant
                for step in prefix:
                    target = target[step]
                target[key] = value
                yield mutant
            for bad in BAD_KEYS if key in d else ():
                mutant = copy.deepcopy(obj)
                target = mutant
                for step in prefix:
                    target = target[step]
                target[bad] = target.pop(key)
                yield mutant
    for prefix, key in paths(obj):
        parent = obj
        for step in prefix:
            parent = parent[step]
        values = POOL + near(parent[key])
        for value in values + ["<delete>"]:
            if value == "<delete>" and isinstance(parent, list):
                continue
            mutant = copy.deepcopy(obj)
            target = mutant
            for step in prefix:
                target = target[step]
            if value == "<delete>":
                del target[key]
            else:
                target[key] = copy.deepcopy(value)
            yield mutant


@pytest.mark.slow
def test_every_single_field_mutation_agrees():
    checked = 0
    for msg_type, obj in rich_examples():
        assert validator(msg_type).is_valid(obj) and hand_verdict(msg_type, obj) == (True, None), obj
        for mutant in single_mutations(obj):
            assert_agree(msg_type, mutant)
            checked += 1
    assert checked > 5000


CALIBRATE_CASES = [
    ({"scale_counts_per_n": 2280.0, "offset_counts": -84120}, True),
    ({"scale_counts_per_n": -2280.0}, True),  # a cell mounted the other way round
    ({"offset_counts": 8140.5}, True),  # re-zero: keeps the scale
    ({"counts_per_m": 2000.0, "invert": False}, True),
    ({"invert": True}, True),
    ({"counts_per_m": 2000, "offset_counts": 0}, True),  # the pairing is the node's call
    ({}, False),
    ({"known_force_n": 196.1}, False),  # the old form
    ({"known_distance_m": 5}, False),
    ({"scale_counts_per_n": 2280.0, "known_force_n": 196.1}, False),
    ({"scale_counts_per_n": 0}, False),
    ({"scale_counts_per_n": 0.0, "offset_counts": 1}, False),
    ({"scale_counts_per_n": True}, False),
    ({"offset_counts": "8140"}, False),
    ({"offset_counts": None}, False),
    ({"counts_per_m": 0}, False),
    ({"counts_per_m": -2000.0}, False),
    ({"invert": 1}, False),
    ({"invert": "true"}, False),
]


@pytest.mark.parametrize("params, ok", CALIBRATE_CASES, ids=lambda v: json.dumps(v) if isinstance(v, dict) else "")
def test_calibrate_carries_the_values_the_hub_computed(params, ok):
    msg = {"v": 1, "id": "c18", "cmd": "calibrate", "sensor": "lc1", "params": params}
    assert validator("cmd").is_valid(msg) is ok
    assert hand_verdict("cmd", msg)[0] is ok
    if ok:
        make_command("sled1", "calibrate", "lc1", params)
    else:
        with pytest.raises(ValueError):
            make_command("sled1", "calibrate", "lc1", params)


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf")])
def test_calibrate_values_must_be_finite(value):
    for key in ("scale_counts_per_n", "offset_counts", "counts_per_m"):
        with pytest.raises(Reject) as caught:
            check_command({"v": 1, "id": "c18", "cmd": "calibrate", "sensor": "lc1", "params": {key: value}})
        assert caught.value.reason == "bad_number"
