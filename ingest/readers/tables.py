"""Which row of a table is its header, so every other row can be read with its column names.

예::

    header_row([["업무", "담당", "기한"], ["API 문서 정리", "김민수", "3월 15일"]])   # '업무 | 담당 | 기한'
"""

from __future__ import annotations

import re
from collections.abc import Sequence

#: A header cell is a short label: at most this many characters, and no digits.
MAX_HEADER_CELL_CHARS = 20
_DIGIT = re.compile(r"\d")


def header_row(rows: Sequence[Sequence[str]], marked: bool = False) -> str | None:
    """The first row as ``"a | b | c"`` when it is the table's header, else None.

    ``marked``: the format says so (HTML ``th`` cells, a DOCX ``tblHeader`` row). Otherwise a first
    row of two or more short labels without digits over at least one more row is taken for the
    header, as Korean documents almost always put one there (구분 | 내용 | 비고).
    """
    if not rows:
        return None
    first = [" ".join(c.split()) for c in rows[0]]
    if marked and any(first):
        return " | ".join(first)
    if len(rows) < 2 or len(first) < 2:
        return None
    if all(0 < len(c) <= MAX_HEADER_CELL_CHARS and not _DIGIT.search(c) for c in first):
        return " | ".join(first)
    return None
