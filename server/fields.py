"""The checks every request parser shares (pure; no I/O): what counts as a number, an integer and a
text in a JSON body. Each parser keeps its own message ("field: what is wrong"), so the API's answers
say what that field needs; the rule for what passes lives here once.

>>> number_in(2.5, 0, 10), number_in(True, 0, 10), number_in(float("nan"), 0, 10)
(True, False, False)
>>> clean_text("  Sled 1 ", 40), clean_text("   ", 40), clean_text(7, 40)
('Sled 1', None, None)
"""

from __future__ import annotations

import math
from typing import Any


def is_number(value: Any) -> bool:
    """A finite JSON number (int or float); ``true``/``false`` are not numbers."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def number_in(value: Any, lo: float, hi: float, *, above_lo: bool = False) -> bool:
    """A number with ``lo <= value <= hi`` (``lo < value`` when ``above_lo``)."""
    return is_number(value) and (lo < value if above_lo else lo <= value) and value <= hi


def is_int(value: Any) -> bool:
    """A JSON integer; ``true``/``false`` are not integers."""
    return isinstance(value, int) and not isinstance(value, bool)


def clean_text(value: Any, max_chars: int) -> str | None:
    """``value`` stripped when it is a text of 1..``max_chars`` characters after stripping, else None."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    return text if 0 < len(text) <= max_chars else None
