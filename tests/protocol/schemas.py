"""The public JSON Schemas (docs/schemas/*.json), loaded as validators for tests."""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path

from jsonschema import Draft202012Validator, ValidationError, validators

SCHEMA_DIR = Path(__file__).resolve().parents[2] / "docs" / "schemas"


def schema_name(msg_type: str) -> str:
    """Message type (topic suffix) → schema file stem: ``clock/pong`` → ``clock_pong``."""
    return msg_type.replace("/", "_")


def _ecma_pattern(validator, pattern, instance, schema):
    # JSON Schema patterns are ECMA-262 regexes, where "$" matches only at the very end; Python's
    # re.search also lets it match before a final newline ("abc\n" would pass "^[a-z]+$").
    if validator.is_type(instance, "string") and not re.search(pattern.replace("$", r"\Z"), instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


EcmaValidator = validators.extend(Draft202012Validator, {"pattern": _ecma_pattern})


@cache
def validator(msg_type: str) -> Draft202012Validator:
    schema = json.loads((SCHEMA_DIR / f"{schema_name(msg_type)}.json").read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return EcmaValidator(schema)
