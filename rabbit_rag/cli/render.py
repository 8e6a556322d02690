"""How answers, citations and hits look in a terminal (``ask``, ``chat`` and ``search`` share it)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rabbit_rag.citations import Citation
    from rabbit_rag.types import ScoredChunk


def one_line(text: str, width: int = 160) -> str:
    """``text`` on one line, cut to ``width`` characters with an ellipsis."""
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def where(source: str, page: int | None, start: int, end: int) -> str:
    """``samples/constitution.txt p.3 [5926:5949]``: the document, its page and the characters."""
    return f"{source}" + (f" p.{page}" if page is not None else "") + f" [{start}:{end}]"


def citation_lines(citations: Sequence[Citation]) -> list[str]:
    """The ``출처:`` block under an answer: each ``[n]`` with where it points and the exact quote."""
    if not citations:
        return []
    lines = ["", "출처:"]
    for c in citations:
        lines.append(f"[{c.n}] {where(c.source, c.page, c.start, c.end)}\n    “{' '.join(c.quote.split())}”")
    return lines


def source_lines(sources: Sequence[ScoredChunk]) -> list[str]:
    """The numbered passages an answer was given (``/sources`` in ``rabbit-rag chat``)."""
    lines = []
    for i, hit in enumerate(sources, 1):
        c = hit.chunk
        lines.append(f"[{i}] {hit.score:.4f}  {where(c.source, c.page, c.start, c.end)}\n    {one_line(c.text)}")
    return lines
