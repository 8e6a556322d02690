"""Chunking on Kiwi sentence boundaries.

Whole sentences are packed into chunks up to a token budget, and neighbouring chunks share
``overlap_sentences`` whole sentences. A document's blocks shape its sentences: a heading, a list
item, a table row, an FAQ question is a sentence of its own (never glued to the next one), and
each chunk carries the blocks it overlaps (:attr:`ChunkSpan.blocks`) for the answerer. The budget is counted in the embedding model's tokens when a
model is configured (what the model actually sees), and in Kiwi morphemes otherwise — for Korean a
morpheme count is close to a subword count. A chunk never crosses a page or section start, and a
sentence is cut only when it alone exceeds the budget, then at a morpheme boundary (preferring a
space), never inside a syllable.

Every chunk satisfies ``text[chunk.start:chunk.end] == chunk text``.

예::

    chunker = KiwiChunker(chunk_tokens=128)
    for span in chunker.chunk(document):
        print(span.start, span.end, document.text[span.start:span.end][:30])
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from rabbit_rag.errors import InvalidInputError
from rabbit_rag.text.sentences import (
    Sentence,
    analyze_stream,
    atomic_spans,
    block_breaks,
    merge_atomic,
    structural_breaks,
)
from rabbit_rag.types import Block, Document

TokenCounter = Callable[[Sequence[str]], list[int]]

#: The chunk budget in tokens and the whole sentences shared by neighbouring chunks, unless configured.
DEFAULT_CHUNK_TOKENS = 256
DEFAULT_OVERLAP_SENTENCES = 1
T = TypeVar("T")


@dataclass(slots=True)
class ChunkSpan:
    """One chunk of a document: ``document.text[start:end]``."""

    start: int
    end: int
    n_tokens: int
    terms: list[str] = field(default_factory=list)
    page: int | None = None
    section: str | None = None
    #: The document's structural blocks inside the chunk (clipped to it), document offsets.
    blocks: list[Block] = field(default_factory=list)


@dataclass(slots=True)
class ChunkBatch(Generic[T]):
    """Chunks of one item as they become ready; ``last`` marks the item's final batch."""

    item: T
    doc: Document | None
    spans: list[ChunkSpan]
    last: bool


@dataclass(slots=True)
class _Unit:
    start: int
    end: int
    n_tokens: int
    terms: list[str]
    zone: int


class KiwiChunker:
    """Packs Kiwi sentences into chunks of at most ``chunk_tokens`` tokens.

    ``count_tokens`` counts a batch of texts in model tokens (e.g. an embedder's
    ``count_tokens``); without it the budget is in Kiwi morphemes.
    """

    def __init__(
        self,
        chunk_tokens: int = DEFAULT_CHUNK_TOKENS,
        overlap_sentences: int = DEFAULT_OVERLAP_SENTENCES,
        count_tokens: TokenCounter | None = None,
    ) -> None:
        if chunk_tokens < 8:
            raise InvalidInputError(f"chunk_tokens={chunk_tokens} is too small; use at least 8")
        if overlap_sentences < 0:
            raise InvalidInputError(f"overlap_sentences={overlap_sentences} must be >= 0")
        self.chunk_tokens = chunk_tokens
        self.overlap_sentences = overlap_sentences
        self.count_tokens = count_tokens
        # With model tokens we only learn which sentences are too long after counting; keep the
        # morphemes of any sentence that might be, so it can be cut without a second analysis.
        self._keep_over = max(4, chunk_tokens // 4) if count_tokens else chunk_tokens

    # -- public -----------------------------------------------------------------------------------
    def chunk(self, doc: Document) -> list[ChunkSpan]:
        """Chunks of one document."""
        return [span for batch in self.chunk_stream([doc], lambda d: d) for span in batch.spans]

    def chunk_stream(self, items: Iterable[T], get_doc: Callable[[T], Document | None]) -> Iterator[ChunkBatch[T]]:
        """Chunks of many items, analyzed in one streamed Kiwi batch, in order, a few at a time.

        ``get_doc`` turns an item into its document (or None to pass it through without chunks),
        lazily, so reading files overlaps with analysis. Each item yields one or more
        :class:`ChunkBatch`; the last one has ``last=True``. A huge document never has all its
        sentences in memory at once.
        """

        def feed() -> Iterator[tuple[Any, str, Sequence[int]]]:
            for item in items:
                doc = get_doc(item)
                yield (item, doc), ("" if doc is None else doc.text), ([] if doc is None else _segment_breaks(doc))

        packer: _Packer | None = None
        for (item, doc), _text, sents, done in analyze_stream(feed(), self._keep_over):
            if doc is None:
                yield ChunkBatch(item, None, [], True)
                continue
            if packer is None or packer.doc is not doc:
                packer = _Packer(self, doc)
            spans = packer.feed(sents)
            if done:
                spans.extend(packer.finish())
                packer = None
            yield ChunkBatch(item, doc, spans, done)

    def pack(self, doc: Document, sentences: Sequence[Sentence]) -> list[ChunkSpan]:
        """Pack already analyzed sentences of ``doc`` into chunks."""
        packer = _Packer(self, doc)
        return packer.feed(sentences) + packer.finish()

    # -- internals --------------------------------------------------------------------------------
    def _counts(self, text: str, sentences: Sequence[Sentence]) -> list[int]:
        if self.count_tokens is None:
            return [s.n_morphemes for s in sentences]
        out: list[int] = []
        for i in range(0, len(sentences), 512):
            batch = sentences[i : i + 512]
            out.extend(max(1, n) for n in self.count_tokens([text[s.start : s.end] for s in batch]))
        return out

    def _units(self, doc: Document, sentences: Sequence[Sentence], zone_starts: list[int]) -> list[_Unit]:
        units: list[_Unit] = []
        for sent, n in zip(sentences, self._counts(doc.text, sentences), strict=True):
            zone = bisect.bisect_right(zone_starts, sent.start)
            if n <= self.chunk_tokens:
                units.append(_Unit(sent.start, sent.end, n, sent.terms, zone))
            else:
                units.extend(self._cut(doc.text, sent, n, zone))
        return units

    def _overlap(self, previous: list[_Unit], nxt: _Unit) -> list[_Unit]:
        """The last whole sentences of ``previous`` to repeat, if they fit with ``nxt``."""
        if not self.overlap_sentences or previous[-1].zone != nxt.zone or len(previous) < 2:
            return []
        tail = previous[-self.overlap_sentences :]
        n = sum(u.n_tokens for u in tail)
        if n > self.chunk_tokens // 2 or n + nxt.n_tokens > self.chunk_tokens:
            return []
        return list(tail)

    def _cut(self, text: str, sent: Sentence, n_tokens: int, zone: int) -> list[_Unit]:
        """Cut an over-long sentence into pieces within budget, at morpheme starts after a space."""
        morphs: list[tuple[int, int, list[str]]] = sent.morphemes or [(sent.start, sent.end, [])]
        pieces = max(2, math.ceil(n_tokens / self.chunk_tokens * 1.1))
        per = max(1, math.ceil(len(morphs) / pieces))
        out: list[_Unit] = []
        i = 0
        while i < len(morphs):
            j = min(len(morphs), i + per)
            if j < len(morphs):
                # back off to a morpheme that starts a word (a space before it) when one is near
                for cand in range(j, max(i + per // 2, i + 1) - 1, -1):
                    if text[morphs[cand][0] - 1].isspace():
                        j = cand
                        break
            start = sent.start if i == 0 else morphs[i][0]
            end = sent.end if j == len(morphs) else morphs[j][0]
            while end > start and text[end - 1].isspace():
                end -= 1
            terms = [t for m in morphs[i:j] for t in m[2]] if sent.morphemes else list(sent.terms)
            piece_tokens = j - i
            if self.count_tokens is not None:
                piece_tokens = max(1, self.count_tokens([text[start:end]])[0])
            if piece_tokens > self.chunk_tokens and j - i > 1:
                sub = Sentence(start, end, j - i, terms, morphs[i:j])
                out.extend(self._cut(text, sub, piece_tokens, zone))
            elif end > start:
                out.append(_Unit(start, end, piece_tokens, terms, zone))
            i = j
        return out

    def _span(self, doc: Document, group: list[_Unit], blocks: _BlockIndex | None = None) -> ChunkSpan:
        start, end = group[0].start, group[-1].end
        terms: list[str] = []
        for u in group:
            terms.extend(u.terms)
        return ChunkSpan(
            start=start,
            end=end,
            n_tokens=sum(u.n_tokens for u in group),
            terms=terms,
            page=_page_at(doc, start),
            section=_section_at(doc, start),
            blocks=blocks.overlapping(start, end) if blocks is not None else _BlockIndex(doc).overlapping(start, end),
        )


class _Packer:
    """Packs one document's sentences as they arrive: greedy, whole sentences, with overlap."""

    def __init__(self, chunker: KiwiChunker, doc: Document) -> None:
        self.chunker = chunker
        self.doc = doc
        self.zone_starts = _breaks(doc)
        self.atomic = atomic_spans(doc.blocks)
        self.blocks = _BlockIndex(doc)
        self.current: list[_Unit] = []
        self.total = 0

    def feed(self, sentences: Sequence[Sentence]) -> list[ChunkSpan]:
        out: list[ChunkSpan] = []
        if not sentences:
            return out
        # a list item or table row Kiwi split in two is one sentence (as long as it needs no cutting)
        sentences = merge_atomic(self.doc.text, sentences, self.atomic, self.chunker._keep_over)
        budget = self.chunker.chunk_tokens
        for unit in self.chunker._units(self.doc, sentences, self.zone_starts):
            if self.current and (unit.zone != self.current[-1].zone or self.total + unit.n_tokens > budget):
                out.append(self.chunker._span(self.doc, self.current, self.blocks))
                self.current = self.chunker._overlap(self.current, unit)
                self.total = sum(u.n_tokens for u in self.current)
            self.current.append(unit)
            self.total += unit.n_tokens
        return out

    def finish(self) -> list[ChunkSpan]:
        out = [self.chunker._span(self.doc, self.current, self.blocks)] if self.current else []
        self.current, self.total = [], 0
        return out


def _breaks(doc: Document) -> list[int]:
    """Offsets no chunk crosses: page, section and legal-article starts."""
    return sorted({p[0] for p in doc.pages} | {s[0] for s in doc.sections} | set(structural_breaks(doc.text)))


def _segment_breaks(doc: Document) -> list[int]:
    """Offsets no sentence crosses: the chunk breaks and the edges of the document's blocks."""
    return sorted(set(_breaks(doc)) | set(block_breaks(doc.blocks)))


class _BlockIndex:
    """A document's structural blocks in order, to find those overlapping a chunk quickly."""

    def __init__(self, doc: Document) -> None:
        self.blocks = sorted((b for b in doc.blocks if b.kind != "paragraph"), key=lambda b: (b.start, b.end))
        self.starts = [b.start for b in self.blocks]
        self.max_len = max((b.end - b.start for b in self.blocks), default=0)

    def overlapping(self, start: int, end: int) -> list[Block]:
        """Blocks overlapping ``[start, end)``, clipped to it."""
        lo = bisect.bisect_left(self.starts, start - self.max_len)
        hi = bisect.bisect_left(self.starts, end)
        out = []
        for b in self.blocks[lo:hi]:
            if b.end <= start:
                continue
            a, z = max(b.start, start), min(b.end, end)
            out.append(b if (a, z) == (b.start, b.end) else Block(a, z, b.kind, level=b.level, header=b.header))
        return out


def _page_at(doc: Document, offset: int) -> int | None:
    for start, end, page in doc.pages:
        if start <= offset < end:
            return page
    return None


def _section_at(doc: Document, offset: int) -> str | None:
    title = None
    for start, heading in doc.sections:
        if start <= offset:
            title = heading
        else:
            break
    return title
