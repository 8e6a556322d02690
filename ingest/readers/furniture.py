"""Page furniture: the running headers, footers and page numbers printed on every page.

A browser prints the date and the page title at the top of each page and the address with
``1/3`` at the bottom; word processors print ``- 3 -`` or a running title. None of it is content:
left in, it lands in chunks, pulls BM25 towards every page of the document alike, and shows up in
quotes. So it is taken out of the page text before the text is built (the offsets then point into
text without it, and nothing downstream has to know).

A line is furniture when it is among the first or last :data:`EDGE` lines of a page (in the order
the extractor gives them: a browser writes its header after the body, so "first" and "last" are both
looked at) and either

- the same line, with its digits ignored, is at an edge of at least half of the pages (two at
  least): ``26. 5. 3. 오후 2:15 기사 제목``, ``https://news.example.com/a/1 1/3``, ``- 3 -``; or
- it is a page number of this very page, alone or after an address: ``3``, ``- 3 -``, ``3/7``,
  ``3 / 7``, ``3쪽``, ``Page 3 of 7``, ``https://example.com/x 3/7``. This also finds them on a
  one-page document, where nothing can repeat.

예::

    pages, removed = strip_furniture([["제목", "본문 하나", "- 1 -"], ["본문 둘", "- 2 -"]])
    pages == [["제목", "본문 하나"], ["본문 둘"]]
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

#: Lines at the top and at the bottom of a page that may be furniture.
EDGE = 3

_DIGITS = re.compile(r"\d+")
_SPACES = re.compile(r"\s+")
_PAGE_NUMBER = re.compile(
    r"^(?:(?:https?|file)://\S+\s+)?"  # a browser footer starts with the address
    r"[-–—(\[]?\s*(?:page\s*|p\.\s*)?(\d{1,4})\s*(?:(?:/|of|중)\s*\d{1,4})?\s*(?:쪽|페이지|면)?\s*[-–—)\]]?$",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class Furniture:
    """A line taken out of page ``page`` (1-based)."""

    page: int
    line: str


def _key(line: str) -> str:
    return _SPACES.sub(" ", _DIGITS.sub("#", line)).strip()


def _edges(lines: Sequence[str]) -> list[int]:
    filled = [i for i, line in enumerate(lines) if line.strip()]
    if len(filled) <= 2 * EDGE:
        return filled
    return filled[:EDGE] + filled[-EDGE:]


def is_page_number(line: str, page: int) -> bool:
    """Whether ``line`` is the number of page ``page`` (alone, or after a browser's address).

    예: ``is_page_number("- 3 -", 3)`` → True; ``is_page_number("2024", 3)`` → False
    """
    m = _PAGE_NUMBER.match(line.strip())
    return bool(m) and int(m.group(1)) == page


def strip_furniture(pages: Sequence[Sequence[str]]) -> tuple[list[list[str]], list[Furniture]]:
    """The pages' lines without their furniture, and what was taken out (see the module doc).

    ``pages[i]`` are the lines of page ``i + 1``. Lines that are not furniture keep their order.
    """
    edges = [_edges(lines) for lines in pages]
    with_text = sum(1 for e in edges if e)
    counts: Counter[str] = Counter()
    for lines, idx in zip(pages, edges, strict=True):
        counts.update({_key(lines[i]) for i in idx})
    need = max(2, (with_text + 1) // 2)
    repeated = {k for k, n in counts.items() if n >= need and k}
    out: list[list[str]] = []
    removed: list[Furniture] = []
    for number, (lines, idx) in enumerate(zip(pages, edges, strict=True), start=1):
        drop = {i for i in idx if _key(lines[i]) in repeated or is_page_number(lines[i], number)}
        out.append([line for i, line in enumerate(lines) if i not in drop])
        removed.extend(Furniture(number, lines[i].strip()) for i in sorted(drop))
    return out, removed
