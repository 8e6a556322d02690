"""Citations: ``[n]`` markers in an answer → the exact sentence of source ``n`` that supports it.

Markers: ``[1]``, ``[1, 2]``, ``[1-3]``, ``[1][2]`` and their full-width forms (``［１］``, ``［１，２］``).
Each marker group cites the statement before it (the last sentence before the marker, or the
sentence after it when the marker opens the text). For every cited source we pick the sentence of
its chunk that best supports the statement — Kiwi content morphemes shared with the statement,
recall-weighted, character bigrams as tie-breaker — and return it as ``quote`` with document
offsets, so that ``document_text[start:end] == quote`` (the offsets contract, docs/architecture.md).

Numbers that match no source are dropped from the answer text and counted.

Only the generator's markers are citations: ``[3]`` or ``[1-5]`` written in a document (a footnote, a
reference list) would otherwise become citations to other sources when an answer quotes it. What a
generator sees and what the extractive answerer quotes is passed through :func:`neutralize_markers`,
which writes such markers with the look-alike brackets ``〔3〕`` (U+3014/U+3015, same length) that no
marker pattern matches. A generator that already knows which sentence backs each of its markers
(the extractive answerer) passes them as ``anchors`` and no sentence is guessed.

예::

    result = cite("국회의원의 임기는 4년이다 [1].", hits)
    c = result.citations[0]
    index.document_text(c.doc_id)[c.start:c.end] == c.quote   # True
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from rabbit_rag.text.sentences import chunk_sentences, sentences_of
from rabbit_rag.text.similarity import spaceless_bigrams
from rabbit_rag.text.terms import text_terms
from rabbit_rag.types import Chunk, ScoredChunk

_NUM = r"[0-9０-９]{1,3}"  # [2024] is a year, not source 2024
_SEP = r"\s*(?:[,，、]|[-–~～])\s*"
MARKER_RE = re.compile(rf"[\[［]\s*{_NUM}(?:{_SEP}{_NUM})*\s*[\]］]")
_SENTENCE_END = re.compile(r"(?<=[.!?。！？])\s+|\n+")
_MAX_RANGE = 50


@dataclass(frozen=True, slots=True)
class Marker:
    """One marker group in the answer: ``text[start:end]`` and the numbers it names, in order."""

    start: int
    end: int
    numbers: tuple[int, ...]


class Citation(BaseModel):
    """Source ``n`` supports a statement of the answer; ``quote == document_text[start:end]``.

    This is also the citation's JSON shape (``ask --json``, the API): ``statement`` — the part of the
    answer the citation backs — stays out of it."""

    model_config = ConfigDict(frozen=True)

    n: int = Field(description="The [n] marker in the answer; sources[n-1] is the passage.")
    chunk_id: int
    doc_id: str
    source: str
    page: int | None
    start: int = Field(description="quote == document text[start:end]")
    end: int
    quote: str = Field(examples=["제70조 대통령의 임기는 5년으로 하며, 중임할 수 없다."])
    statement: str = Field("", exclude=True)

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of one citation."""
        return self.model_dump()


@dataclass(slots=True)
class CitationResult:
    """The answer text with unknown numbers removed, its citations, and the numbers dropped."""

    text: str
    citations: list[Citation] = field(default_factory=list)
    dropped: list[int] = field(default_factory=list)

    @property
    def n_dropped(self) -> int:
        return len(self.dropped)


_NEUTRAL = str.maketrans({"[": "〔", "]": "〕", "［": "〔", "］": "〕"})


def neutralize_markers(text: str) -> str:
    """``text`` with every ``[n]``-style marker written ``〔n〕``: it reads the same, keeps its length
    (offsets into the text stay valid), and is never parsed as a citation.

    예: ``neutralize_markers("법 제3조[2]에 따라")`` → ``'법 제3조〔2〕에 따라'``
    """
    if "[" not in text and "［" not in text:
        return text
    return MARKER_RE.sub(lambda m: m.group(0).translate(_NEUTRAL), text)


def _numbers(marker: str) -> list[int]:
    body = unicodedata.normalize("NFKC", marker)[1:-1]
    out: list[int] = []
    for part in re.split(r"\s*[,、]\s*", body.strip()):
        m = re.fullmatch(r"(\d+)(?:\s*[-–~]\s*(\d+))?", part)
        if m is None:
            continue
        lo, hi = int(m.group(1)), int(m.group(2)) if m.group(2) else None
        if hi is not None and 0 <= hi - lo <= _MAX_RANGE:
            out.extend(range(lo, hi + 1))
        else:
            out.extend([lo] if hi is None else [lo, hi])
    return out


def parse_markers(text: str) -> list[Marker]:
    """Marker groups in ``text``: adjacent markers (``[1][2]``, ``[1] [2]``) merge into one group.

    예: ``parse_markers("임기는 4년이다[1][2].")`` → ``[Marker(start=7, end=13, numbers=(1, 2))]``
    """
    groups: list[Marker] = []
    for m in MARKER_RE.finditer(text):
        nums = tuple(_numbers(m.group(0)))
        if groups and not text[groups[-1].end : m.start()].strip():
            last = groups[-1]
            groups[-1] = Marker(last.start, m.end(), last.numbers + tuple(n for n in nums if n not in last.numbers))
        else:
            groups.append(Marker(m.start(), m.end(), tuple(dict.fromkeys(nums))))
    return groups


def _statement(text: str, markers: Sequence[Marker], i: int) -> str:
    """The statement marker group ``i`` cites: the last sentence before it, back to the previous
    group; when nothing stands there (the marker opens the text), the sentence after it."""
    lo = markers[i - 1].end if i else 0
    before = [p for p in _SENTENCE_END.split(text[lo : markers[i].start]) if _has_words(p)]
    if before:
        return before[-1].strip()
    hi = markers[i + 1].start if i + 1 < len(markers) else len(text)
    after = [p for p in _SENTENCE_END.split(text[markers[i].end : hi]) if _has_words(p)]
    return after[0].strip() if after else ""


def _has_words(s: str) -> bool:
    return any(ch.isalnum() for ch in s)


# --- choosing the supporting sentence ----------------------------------------------------------------


def support_score(
    statement_terms: frozenset[str], statement_bigrams: set[str], sentence: str, terms: frozenset[str]
) -> float:
    """How well a sentence supports a statement: the share of the statement's content terms it has
    (recall), a little precision so the tightest sentence wins ties, and character-bigram overlap
    for paraphrases Kiwi terms miss."""
    score = 0.0
    if statement_terms and terms:
        common = len(statement_terms & terms)
        score += common / len(statement_terms) + 0.25 * common / len(terms)
    if statement_bigrams:
        sb = spaceless_bigrams(sentence)
        if sb:
            score += 0.2 * len(statement_bigrams & sb) / len(statement_bigrams | sb)
    return score


def best_sentence(
    chunk_text: str, statement: str, fallback: str | None = None, chunk: Chunk | None = None
) -> tuple[int, int]:
    """``(start, end)`` in ``chunk_text`` of the sentence that best supports ``statement`` (then
    ``fallback``, e.g. the question, when the statement shares nothing with the chunk); the first
    sentence when nothing matches at all. With the ``chunk``, its blocks shape the sentences (a table
    row, a list item is one)."""
    sents = sentences_of(chunk) if chunk is not None else chunk_sentences(chunk_text)
    if not sents:
        stripped = chunk_text.strip()
        a = chunk_text.find(stripped) if stripped else 0
        return a, a + len(stripped)
    for probe in (statement, fallback):
        if not probe:
            continue
        terms, grams = text_terms(probe), spaceless_bigrams(probe)
        scored = [(support_score(terms, grams, chunk_text[a:b], t), -i) for i, (a, b, t) in enumerate(sents)]
        best, neg_i = max(scored)
        if best > 0.05:
            a, b, _ = sents[-neg_i]
            return a, b
    a, b, _ = sents[0]
    return a, b


def _chunk_of(source: ScoredChunk | Chunk) -> Chunk:
    return source.chunk if isinstance(source, ScoredChunk) else source


def cite(
    text: str,
    sources: Sequence[ScoredChunk | Chunk],
    question: str | None = None,
    anchors: Sequence[tuple[int, int, int]] | None = None,
) -> CitationResult:
    """Resolve the ``[n]`` markers of ``text`` against ``sources`` (``sources[0]`` is ``[1]``).

    Returns the text with numbers that name no source removed, one citation per (statement,
    source) — deduplicated by quote — and the dropped numbers. ``anchors`` — ``(n, start, end)`` per
    marker group, in order, offsets into source ``n``'s chunk text — say exactly which sentence each
    marker rests on (the extractive answerer knows); they are used when they match the markers.
    """
    markers = parse_markers(text)
    if anchors is not None and (
        len(anchors) != len(markers) or any(mk.numbers != (a[0],) for mk, a in zip(markers, anchors, strict=False))
    ):
        anchors = None
    n_sources = len(sources)
    citations: list[Citation] = []
    seen: set[tuple[int, int, int]] = set()
    dropped: list[int] = []
    for i, mk in enumerate(markers):
        statement = _statement(text, markers, i)
        for n in mk.numbers:
            if not 1 <= n <= n_sources:
                dropped.append(n)
                continue
            chunk = _chunk_of(sources[n - 1])
            if anchors is not None:
                a, b = anchors[i][1], anchors[i][2]
            else:
                a, b = best_sentence(chunk.text, statement, question, chunk)
            key = (n, a, b)
            if key in seen:
                continue
            seen.add(key)
            citation = Citation(
                n=n, chunk_id=chunk.chunk_id, doc_id=chunk.doc_id, source=chunk.source, page=chunk.page,
                start=chunk.start + a, end=chunk.start + b, quote=chunk.text[a:b], statement=statement,
            )  # fmt: skip
            citations.append(citation)
    return CitationResult(_without(text, markers, n_sources) if dropped else text, citations, dropped)


def _without(text: str, markers: Sequence[Marker], n_sources: int) -> str:
    """``text`` with marker numbers outside ``1..n_sources`` removed (a group left empty goes, with
    the space before it)."""
    out: list[str] = []
    pos = 0
    for mk in markers:
        keep = [n for n in mk.numbers if 1 <= n <= n_sources]
        if len(keep) == len(mk.numbers):
            continue
        head = text[pos : mk.start]
        out.append(head + "".join(f"[{n}]" for n in keep) if keep else head.rstrip(" "))
        pos = mk.end
    out.append(text[pos:])
    return "".join(out)


def verify(citations: Sequence[Citation], document_text: Callable[[str], str | None]) -> list[Citation]:
    """The citations whose quote is *not* exactly ``document_text(doc_id)[start:end]`` (empty: all good).

    예: ``assert not verify(answer.citations, index.document_text)``
    """
    bad = []
    cache: dict[str, str | None] = {}
    for c in citations:
        if c.doc_id not in cache:
            cache[c.doc_id] = document_text(c.doc_id)
        doc = cache[c.doc_id]
        if doc is None or doc[c.start : c.end] != c.quote or not c.quote:
            bad.append(c)
    return bad
