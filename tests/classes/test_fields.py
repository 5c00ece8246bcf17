"""The shared field checks of every request parser (``server/fields.py``)."""

from __future__ import annotations

import doctest

import server.fields as fields
from server.fields import clean_text, is_int, is_number, number_in


def test_numbers_are_finite_and_never_booleans():
    assert is_number(0) and is_number(-2.5) and is_number(10**6)
    assert not any(is_number(v) for v in (True, False, None, "3", float("inf"), float("nan"), [1]))
    assert number_in(0, 0, 10) and number_in(10, 0, 10) and not number_in(10.001, 0, 10)
    assert not number_in(0, 0, 10, above_lo=True) and number_in(0.001, 0, 10, above_lo=True)
    assert is_int(3) and not is_int(True) and not is_int(3.0)


def test_texts_are_stripped_non_empty_and_bounded():
    assert clean_text(" a ", 1) == "a" and clean_text("abc", 2) is None
    assert clean_text("", 5) is None and clean_text(None, 5) is None


def test_the_module_examples_run():
    assert doctest.testmod(fields).failed == 0
