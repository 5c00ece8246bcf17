"""docs/deploy.md lists every key of the hub's config file with the type and default of server/config.py."""

from __future__ import annotations

import ast
import dataclasses
import json
import re
from pathlib import Path

from server import config as config_module
from server.config import Config

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "deploy.md"
TYPE_WORDS = {str: "string", int: "integer", float: "number", bool: "boolean"}


def documented() -> dict[tuple[str, str], tuple[str, str, str]]:
    """``(section, key)`` → ``(type, default, meaning)`` from the deploy.md table."""
    rows = re.findall(r"^\| `\[(\w+)\] (\w+)` \| ([^|]+) \| ([^|]+) \| ([^|]+) \|$", DOC.read_text(encoding="utf-8"), re.M)
    return {(sec, key): (typ.strip(), default.strip(), what.strip()) for sec, key, typ, default, what in rows}


def in_code() -> dict[tuple[str, str], tuple[type, object, bool]]:
    """``(section, key)`` → ``(type, default, has a docstring)`` from the dataclasses of server/config.py."""
    tree = ast.parse(Path(config_module.__file__).read_text(encoding="utf-8"))
    docstrings = {}
    for cls in (n for n in tree.body if isinstance(n, ast.ClassDef)):
        for i, st in enumerate(cls.body):
            if isinstance(st, ast.AnnAssign) and i + 1 < len(cls.body) and isinstance(cls.body[i + 1], ast.Expr):
                docstrings[(cls.name, st.target.id)] = True
    out = {}
    for section in dataclasses.fields(Config):
        cls = section.default_factory
        for f in dataclasses.fields(cls):
            out[(section.name, f.name)] = (type(f.default), f.default, docstrings.get((cls.__name__, f.name), False))
    return out


def test_every_config_key_is_in_the_table_and_nothing_else():
    assert set(documented()) == set(in_code())


def test_types_and_defaults_match_the_code():
    doc = documented()
    for key, (typ, default, has_doc) in in_code().items():
        doc_type, doc_default, meaning = doc[key]
        assert doc_type.startswith(TYPE_WORDS[typ]), (key, doc_type)
        assert meaning and has_doc, key
        if key == ("http", "web_root"):      # a path computed from where the code is installed
            continue
        assert json.loads(doc_default.strip("`")) == default, (key, doc_default, default)
