"""Page furniture: the running headers, footers and page numbers printed on every page.

A browser prints the date and the page title at the top of each page and the address with
``1/3`` at the bottom; word processors print ``- 3 -`` or a running title. None of it is content:
left in, it lands in chunks, pulls BM25 towards every page of the document alike, and shows up in
quotes. So it is taken out of the page text before the text is built (the offsets then point into
text without it, and nothing downstream has to know).

A line is furniture when it is among the first or last :data:`EDGE` lines of a page (in the order
the extractor gives them: a browser writes its header after the body, so "first" and "last" are both
looked at) and either

- the same line is at an edge of at least half of the pages (two at least): a running title,
  ``26. 5. 3. 오후 2:15 기사 제목``; or
- the same line but for one number that counts the pages (the page number plus a constant) is:
  ``https://news.example.com/a/1 2/3``, ``- 14 -``, ``Page 2 of 9``. Lines that differ in other
  numbers (``2023년 매출``, ``2024년 매출``) are content; or
- it is this very page's number, alone or after an address (``3``, ``- 3 -``, ``3/7``, ``3쪽``,
  ``Page 3 of 7``, ``https://example.com/x 3/7``), or a browser's print stamp (``26. 5. 3. 오후
  2:15 ...``, ``5/3/26, 2:15 PM ...``). These find furniture on a one-page document too, where
  nothing can repeat.

예::

    pages, removed = strip_furniture([["제목", "본문 하나", "- 1 -"], ["본문 둘", "- 2 -"]])
    pages == [["제목", "본문 하나"], ["본문 둘"]]
"""

from __future__ import annotations

import re
from collections import defaultdict
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


# A browser's print stamp heads each page: "26. 5. 3. 오후 2:15" (Korean), "5/3/26, 2:15 PM" (English)
_PRINTED_AT = re.compile(
    r"^(?:\d{2,4}\. ?\d{1,2}\. ?\d{1,2}\.? (?:오전|오후) ?\d{1,2}:\d{2}"
    r"|\d{1,2}/\d{1,2}/\d{2,4},? \d{1,2}:\d{2}(?: ?[AP]M)?)(?:\s|$)"
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


def _counts_pages(found: list[tuple[int, tuple[int, ...]]]) -> bool:
    """Whether the numbers of one digit-blind line, seen on several pages, count the pages: one
    number moves with the page (a constant offset: ``- 15 -`` on page 3) and the others stay."""
    width = len(found[0][1])
    if any(len(nums) != width for _, nums in found):
        return False
    moving = [i for i in range(width) if len({nums[i] for _, nums in found}) > 1]
    if len(moving) != 1:
        return False
    offsets = {nums[moving[0]] - page for page, nums in found}
    # printed numbers run a little behind (front matter) or ahead (an excerpt) of the file's pages;
    # years that happen to climb page by page (2023년, 2024년) are far ahead and stay content
    return len(offsets) == 1 and -10 <= offsets.pop() <= 1000


def strip_furniture(pages: Sequence[Sequence[str]]) -> tuple[list[list[str]], list[Furniture]]:
    """The pages' lines without their furniture, and what was taken out (see the module doc).

    ``pages[i]`` are the lines of page ``i + 1``. Lines that are not furniture keep their order.
    """
    edges = [_edges(lines) for lines in pages]
    need = max(2, (sum(1 for e in edges if e) + 1) // 2)
    exact: dict[str, set[int]] = defaultdict(set)
    blind: dict[str, dict[int, tuple[int, ...]]] = defaultdict(dict)
    for number, (lines, idx) in enumerate(zip(pages, edges, strict=True), start=1):
        for i in idx:
            line = _SPACES.sub(" ", lines[i]).strip()
            exact[line].add(number)
            blind[_key(line)].setdefault(number, tuple(int(d) for d in _DIGITS.findall(line)))
    repeated = {k for k, found in exact.items() if len(found) >= need and k}
    numbered = {
        k for k, found in blind.items() if len(found) >= need and "#" in k and _counts_pages(sorted(found.items()))
    }  # fmt: skip
    out: list[list[str]] = []
    removed: list[Furniture] = []
    for number, (lines, idx) in enumerate(zip(pages, edges, strict=True), start=1):
        drop = set()
        for i in idx:
            line = _SPACES.sub(" ", lines[i]).strip()
            if line in repeated or _key(line) in numbered or is_page_number(line, number) or _PRINTED_AT.match(line):
                drop.add(i)
        out.append([line for i, line in enumerate(lines) if i not in drop])
        removed.extend(Furniture(number, lines[i].strip()) for i in sorted(drop))
    return out, removed
