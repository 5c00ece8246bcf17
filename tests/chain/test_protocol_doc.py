"""docs/protocol.md section 13 runs: its example is valid for the schema and for the hub's parser, and
schema and parser agree on what they refuse."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from server.chain.record import ChainRecord, RecordError, parse_payload
from tests.protocol.schemas import SCHEMA_DIR, EcmaValidator

DOC = Path(__file__).resolve().parents[2] / "docs" / "protocol.md"
SCHEMA = json.loads((SCHEMA_DIR / "hub" / "result.json").read_text(encoding="utf-8"))


def validator() -> Draft202012Validator:
    Draft202012Validator.check_schema(SCHEMA)
    return EcmaValidator(SCHEMA)


def example() -> tuple[str, dict]:
    (topic, body), = re.findall(r"^```jsonc topic=(\S+)\n(.*?)^```", DOC.read_text(encoding="utf-8"), re.S | re.M)
    return topic, json.loads(body)


def test_the_example_is_valid_and_matches_its_topic():
    topic, message = example()
    assert not list(validator().iter_errors(message))
    record = parse_payload(json.dumps(message).encode())
    assert topic == f"sledhub/v1/chain/{record.gym_id}/results/{record.station_id}"
    assert record.to_payload() == message


GOOD = ChainRecord("gym-b", "x-a1", 2, "Berlin", "Lia", "p1", "sled2", "sled:10 m", "OK", 4.0, 1.7e9).to_payload()


@pytest.mark.parametrize("change", [
    {}, {"time_s": None, "status": "DELETED"}, {"version": -1}, {"version": 1.5}, {"time_s": 3601}, {"time_s": True},
    {"gym_id": "gym b"}, {"drill": "row:10 m"}, {"status": "ok"}, {"athlete": ""}, {"club": "x" * 121},
    {"finished_at": -1}, {"v": 2}, {"attempt_id": "a/b"},
])
def test_schema_and_parser_agree(change):
    message = {**GOOD, **change}
    schema_ok = not list(validator().iter_errors(message))
    try:
        parse_payload(json.dumps(message).encode())
        parser_ok = True
    except RecordError:
        parser_ok = False
    assert schema_ok == parser_ok, (change, schema_ok, parser_ok)
