"""The answer engine: any retriever + any generator → a grounded answer with exact citations.

``Engine.stream`` yields events in this order — the API maps them to server-sent events:

1. :class:`TokenEvent` — pieces of the answer text as they are generated (SSE ``token``);
2. :class:`CitationsEvent` — the resolved citations, once the text is complete (SSE ``citations``);
3. :class:`DoneEvent` — the final :class:`Answer` (SSE ``done``).

Errors raise out of the iterator (:class:`~rabbit_rag.errors.RabbitRagError`; SSE ``error``).
Closing the iterator early (``.close()``, a client that disconnected) stops the generation.
Invalid questions raise at once, before any event.

예::

    engine = Engine.from_index("indexes/헌법", generator="extractive")
    answer = engine.ask("국회의원 임기는?")
    print(answer.text)                 # 국회의원의 임기는 4년으로 한다. [1]
    answer.citations[0].quote          # '제42조 국회의원의 임기는 4년으로 한다.'

    chat = engine.chat()
    chat.ask("대통령 임기는 몇 년이야?")
    chat.ask("그럼 국회의원은?")        # understood as 국회의원의 임기
"""

from __future__ import annotations

import html
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from rabbit_rag import schemas
from rabbit_rag.citations import Citation, cite
from rabbit_rag.conversation import Turn, condense_query, topic_for
from rabbit_rag.embeddings import Embedder
from rabbit_rag.errors import InvalidInputError
from rabbit_rag.generators.base import Generator
from rabbit_rag.generators.factory import make_generator
from rabbit_rag.index import Index, open_index
from rabbit_rag.limits import DEFAULT_MAX_QUESTION_CHARS, MAX_QUERY_CHARS
from rabbit_rag.prompts import NOT_FOUND
from rabbit_rag.retrieval import Retriever, make_retriever
from rabbit_rag.text.normalize import normalize_text
from rabbit_rag.types import ScoredChunk


def check_question(question: Any, max_chars: int = DEFAULT_MAX_QUESTION_CHARS) -> str:
    """The question, NFC-normalized and stripped; :class:`InvalidInputError` when empty or too long.

    예: ``check_question("  국회의원 임기는? ")`` → ``'국회의원 임기는?'``
    """
    if not isinstance(question, str) or not question.strip():
        raise InvalidInputError("the question is empty; ask something, e.g. '국회의원 임기는?'")
    q = normalize_text(question).strip()
    if not q:
        raise InvalidInputError("the question is empty; ask something, e.g. '국회의원 임기는?'")
    if len(q) > max_chars:
        raise InvalidInputError(
            f"the question has {len(q)} characters; the limit is {max_chars} (RABBIT_RAG_MAX_QUESTION_CHARS). "
            "Ask a shorter question"
        )
    return q


@dataclass
class Answer:
    """A grounded answer: its text, the citations that back it, the numbered sources (``sources[0]``
    is ``[1]``), the generator that wrote it and how long each step took (milliseconds)."""

    question: str
    text: str
    citations: list[Citation]
    sources: list[ScoredChunk]
    generator: str
    timings: dict[str, float] = field(default_factory=dict)
    dropped_citations: list[int] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    span: schemas.AnswerSpan | None = None

    @property
    def not_found(self) -> bool:
        """Whether the answer is "the documents do not say"."""
        return NOT_FOUND in self.text

    def record(self) -> schemas.Answer:
        """The ``ask --json`` shape (:class:`rabbit_rag.schemas.Answer`)."""
        return schemas.Answer(
            question=self.question,
            answer=self.text,
            generator=self.generator,
            not_found=self.not_found,
            span=self.span,
            citations=list(self.citations),
            sources=[schemas.SearchHit.of(s, i + 1) for i, s in enumerate(self.sources)],
            timings=dict(self.timings),
        )

    def to_dict(self) -> dict[str, Any]:
        """The ``ask --json`` shape as a dict."""
        return self.record().model_dump()

    def __repr__(self) -> str:
        lines = [self.text, ""]
        for c in self.citations:
            page = f" p.{c.page}" if c.page is not None else ""
            lines.append(f"[{c.n}] {c.source}{page} [{c.start}:{c.end}] “{c.quote}”")
        total = self.timings.get("total_ms")
        lines.append(f"— {self.generator}" + (f", {total:.0f} ms" if total is not None else ""))
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        items = []
        for c in self.citations:
            page = f" p.{c.page}" if c.page is not None else ""
            items.append(
                f"<li><b>[{c.n}]</b> <code>{html.escape(c.source)}{page} [{c.start}:{c.end}]</code>"
                f"<blockquote style='margin:4px 0 8px 12px'>{html.escape(c.quote)}</blockquote></li>"
            )
        body = html.escape(self.text).replace("\n", "<br>")
        return (
            f"<div><p style='font-size:1.05em'>{body}</p>"
            + (f"<ol style='list-style:none;padding-left:0'>{''.join(items)}</ol>" if items else "")
            + f"<small>{html.escape(self.generator)}</small></div>"
        )


@dataclass(frozen=True, slots=True)
class TokenEvent:
    """A piece of the answer text."""

    text: str
    type: Literal["token"] = "token"

    def to_dict(self) -> dict[str, Any]:
        return {"text": self.text}


@dataclass(frozen=True, slots=True)
class CitationsEvent:
    """The citations of the finished text, and the marker numbers dropped for naming no source."""

    citations: list[Citation]
    dropped: list[int]
    type: Literal["citations"] = "citations"

    def to_dict(self) -> dict[str, Any]:
        return {"citations": [c.to_dict() for c in self.citations], "dropped": list(self.dropped)}


@dataclass(frozen=True, slots=True)
class DoneEvent:
    """The final answer."""

    answer: Answer
    type: Literal["done"] = "done"

    def to_dict(self) -> dict[str, Any]:
        return self.answer.to_dict()


AskEvent = TokenEvent | CitationsEvent | DoneEvent


class Engine:
    """Retrieval plus generation plus citations. Stateless and thread-safe as far as its parts are
    (the transformers backend serializes generations itself)."""

    def __init__(
        self,
        retriever: Retriever,
        generator: Generator,
        *,
        k: int = 5,
        max_question_chars: int = DEFAULT_MAX_QUESTION_CHARS,
    ) -> None:
        if k < 1:
            raise InvalidInputError(f"k={k}: retrieve at least one source")
        self.retriever = retriever
        self.generator = generator
        self.k = k
        self.max_question_chars = max_question_chars

    @classmethod
    def from_index(
        cls,
        index: Index | str | Path,
        generator: Generator | str = "auto",
        *,
        mode: str | None = None,
        k: int = 5,
        max_question_chars: int = DEFAULT_MAX_QUESTION_CHARS,
        **generator_options: Any,
    ) -> Engine:
        """An engine over an index: ``mode`` retrieval (default hybrid, BM25 alone without vectors) and
        ``generator`` — a :class:`Generator` or a name for :func:`~rabbit_rag.generators.make_generator`
        (the extractive answerer also scores by meaning with the index's embedding model when the
        retrieval uses vectors: :func:`answer_embedder`).

        예: ``Engine.from_index("indexes/헌법", "extractive", mode="bm25", k=5)``
        """
        idx = index if not isinstance(index, str | Path) else open_index(index)
        retriever = make_retriever(idx, mode)
        if isinstance(generator, str):
            generator_options.setdefault("embedder", answer_embedder(idx, retriever))
            generator = make_generator(generator, **generator_options)
        return cls(retriever, generator, k=k, max_question_chars=max_question_chars)

    # -- asking ---------------------------------------------------------------------------------------
    def ask(self, question: str, k: int | None = None, history: Sequence[Turn] = ()) -> Answer:
        """Answer ``question`` (after the chat turns in ``history``)."""
        answer = None
        for event in self.stream(question, k=k, history=history):
            if isinstance(event, DoneEvent):
                answer = event.answer
        assert answer is not None
        return answer

    def stream(self, question: str, k: int | None = None, history: Sequence[Turn] = ()) -> Iterator[AskEvent]:
        """Events for ``question``: tokens, then citations, then done (see the module docstring).
        Raises :class:`InvalidInputError` at once for an empty or over-long question."""
        q = check_question(question, self.max_question_chars)
        k = self.k if k is None else k
        if k < 1:
            raise InvalidInputError(f"k={k}: retrieve at least one source")
        return self._events(q, k, list(history))

    def _events(self, question: str, k: int, history: list[Turn]) -> Iterator[AskEvent]:
        t0 = time.perf_counter()
        hits = self.retriever.retrieve(condense_query(question, history, MAX_QUERY_CHARS), k)
        t_retrieved = time.perf_counter()
        timings = {"retrieve_ms": (t_retrieved - t0) * 1000}
        pieces: list[str] = []
        notes: list[str] = []
        anchors: list[tuple[int, int, int]] | None = None
        span: schemas.AnswerSpan | None = None
        if hits:
            draft = self.generator.draft(question, hits, history)
            sources, notes = draft.sources, list(draft.notes)
            anchors = getattr(draft, "anchors", None)
            span = _span(draft, sources)
            try:
                for piece in draft.pieces:
                    if not pieces:
                        timings["first_token_ms"] = (time.perf_counter() - t0) * 1000
                    pieces.append(piece)
                    yield TokenEvent(piece)
            finally:
                draft.close()  # a consumer that stopped early stops the generation here
        else:  # nothing retrieved: no model could ground an answer, so none is asked
            sources = []
            timings["first_token_ms"] = (time.perf_counter() - t0) * 1000
            pieces.append(NOT_FOUND)
            yield TokenEvent(NOT_FOUND)
        t_generated = time.perf_counter()
        timings["generate_ms"] = (t_generated - t_retrieved) * 1000
        result = cite("".join(pieces).strip(), sources, question, anchors)
        timings["cite_ms"] = (time.perf_counter() - t_generated) * 1000
        timings["total_ms"] = (time.perf_counter() - t0) * 1000
        yield CitationsEvent(result.citations, result.dropped)
        answer = Answer(
            question=question, text=result.text, citations=result.citations, sources=list(sources),
            generator=self.generator.name, timings={k_: round(v, 2) for k_, v in timings.items()},
            dropped_citations=result.dropped, notes=notes, span=span if result.citations else None,
        )  # fmt: skip
        yield DoneEvent(answer)

    def chat(self, max_turns: int = 8) -> ChatSession:
        """A multi-turn conversation over this engine."""
        return ChatSession(self, max_turns=max_turns)


def _span(draft: Any, sources: Sequence[ScoredChunk]) -> schemas.AnswerSpan | None:
    """The draft's short answer in document offsets, when it gives one that lies in its sources."""
    got = getattr(draft, "span", None)
    if got is None or not 1 <= got[0] <= len(sources):
        return None
    n, a, b = got
    chunk = sources[n - 1].chunk
    if not 0 <= a < b <= len(chunk.text):
        return None
    return schemas.AnswerSpan(
        n=n,
        chunk_id=chunk.chunk_id,
        doc_id=chunk.doc_id,
        start=chunk.start + a,
        end=chunk.start + b,
        text=chunk.text[a:b],
    )


def answer_embedder(index: Index, retriever: Retriever) -> Embedder | None:
    """The embedding model the extractive answerer may score sentences with: the index's own, when the
    retrieval uses vectors. A BM25-only retrieval (asked for, or forced by an index without vectors)
    does not load a model just for the answerer."""
    return index.embedder() if retriever.name != "bm25" else None


class ChatSession:
    """A conversation: each question is understood after the previous turns.

    A follow-up (``그럼 국회의원은?``) is retrieved together with the conversation's topic question
    (see :mod:`rabbit_rag.conversation`), and a language model also sees the earlier turns. Only
    the last ``max_turns`` turns are kept.

    예::

        chat = engine.chat()
        chat.ask("대통령 임기는 몇 년이야?")
        chat.ask("그럼 국회의원은?").text   # '국회의원의 임기는 4년으로 한다. [1]'
    """

    def __init__(self, engine: Engine, max_turns: int = 8) -> None:
        self.engine = engine
        self.max_turns = max_turns
        self.turns: list[Turn] = []

    def ask(self, question: str, k: int | None = None) -> Answer:
        answer = None
        for event in self.stream(question, k=k):
            if isinstance(event, DoneEvent):
                answer = event.answer
        assert answer is not None
        return answer

    def stream(self, question: str, k: int | None = None) -> Iterator[AskEvent]:
        """Like :meth:`Engine.stream`; the turn is remembered when the done event is reached."""
        events = self.engine.stream(question, k=k, history=self.turns)
        return self._remember(events)

    def _remember(self, events: Iterator[AskEvent]) -> Iterator[AskEvent]:
        try:
            for event in events:
                if isinstance(event, DoneEvent):
                    a = event.answer
                    self.turns.append(Turn(a.question, a.text, topic_for(a.question, self.turns)))
                    del self.turns[: -self.max_turns]
                yield event
        finally:
            close = getattr(events, "close", None)
            if close is not None:  # closing the session's stream closes the engine's (stops generation)
                close()

    def reset(self) -> None:
        """Forget the conversation."""
        self.turns.clear()
