"""The engine: retrieval + generation + citations, streamed; chat sessions; the answer object."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from rabbit_rag.citations import Citation, verify
from rabbit_rag.engine import Answer, CitationsEvent, DoneEvent, Engine, TokenEvent
from rabbit_rag.errors import InvalidInputError
from rabbit_rag.generators.extractive import ExtractiveGenerator
from rabbit_rag.generators.llm import LLMGenerator
from rabbit_rag.prompts import NOT_FOUND
from rabbit_rag.retrieval import BM25Retriever
from tests.conftest import LLAMA_SCRIPT, shared_data

ASK_KEYS = ["question", "answer", "generator", "not_found", "span", "citations", "sources", "timings"]
CITATION_KEYS = ["n", "chunk_id", "doc_id", "source", "page", "start", "end", "quote"]


@pytest.fixture(scope="module")
def index(sample_index_ro: Path):
    from rabbit_rag.index import open_index

    return open_index(sample_index_ro)


@pytest.fixture(scope="module")
def engine(index) -> Engine:
    return Engine(BM25Retriever(index), ExtractiveGenerator(), k=5)


def test_ask_extractive_on_the_sample(engine: Engine, index) -> None:
    answer = engine.ask("국회의원 임기는?")
    assert "4년" in answer.text and answer.generator == "extractive"
    c = answer.citations[0]
    assert "국회의원의 임기는 4년" in c.quote
    assert index.document_text(c.doc_id)[c.start : c.end] == c.quote
    d = answer.to_dict()
    assert list(d) == ASK_KEYS and list(d["citations"][0]) == CITATION_KEYS
    assert d["sources"][0]["rank"] == 1 and d["sources"][0]["chunk_id"] == c.chunk_id
    json.dumps(d, ensure_ascii=False)
    assert set(answer.timings) >= {"retrieve_ms", "first_token_ms", "generate_ms", "cite_ms", "total_ms"}
    assert d["timings"] == answer.timings and d["not_found"] is False
    # the short answer inside the quoted sentence, with exact offsets
    assert d["span"] == {"n": 1, "chunk_id": c.chunk_id, "doc_id": c.doc_id, "start": d["span"]["start"],
                         "end": d["span"]["start"] + 2, "text": "4년"}  # fmt: skip
    assert index.document_text(c.doc_id)[d["span"]["start"] : d["span"]["end"]] == "4년"
    assert c.start <= d["span"]["start"] < d["span"]["end"] <= c.end


def test_stream_events_in_order(engine: Engine) -> None:
    events = list(engine.stream("대법원장의 임기는?"))
    kinds = [e.type for e in events]
    assert kinds[-2:] == ["citations", "done"] and set(kinds[:-2]) == {"token"}
    text = "".join(e.text for e in events if isinstance(e, TokenEvent))
    done = events[-1]
    assert isinstance(done, DoneEvent) and done.answer.text == text
    cites = events[-2]
    assert isinstance(cites, CitationsEvent) and cites.citations == done.answer.citations
    assert cites.to_dict()["citations"][0]["n"] == 1


def test_bad_questions_fail_at_once(engine: Engine) -> None:
    for q in ["", "   \n\t"]:
        with pytest.raises(InvalidInputError, match="empty"):
            engine.stream(q)
    short = Engine(engine.retriever, engine.generator, max_question_chars=10)
    with pytest.raises(InvalidInputError, match="limit is 10"):
        short.ask("국회의원 임기는 몇 년이야?")


def test_nothing_retrieved_means_not_found_without_asking_a_model(index) -> None:
    class Boom:
        name = "boom"

        def draft(self, *a, **k):
            raise AssertionError("no model should be asked without sources")

    answer = Engine(BM25Retriever(index), Boom()).ask("xyzzy qwerty")
    assert answer.text == NOT_FOUND and answer.not_found and answer.citations == [] and answer.sources == []


def test_chat_follow_up(engine: Engine) -> None:
    chat = engine.chat()
    assert "5년" in chat.ask("대통령 임기는 몇 년이야?").text
    follow = chat.ask("그럼 국회의원은?")
    assert "국회의원의 임기는 4년" in follow.text
    assert [t.topic for t in chat.turns] == ["대통령 임기는 몇 년이야?"] * 2
    chat.reset()
    assert chat.turns == []


def test_repr_and_html_show_quotes_escaped() -> None:
    c = Citation(n=1, chunk_id=5, doc_id="d", source="a&b.txt", page=2, start=10, end=20, quote="<b>인용</b>")
    a = Answer("질문", "답 <script> [1]", [c], [], "extractive", {"total_ms": 3.0})
    r = repr(a)
    assert "답 <script> [1]" in r and "[1] a&b.txt p.2 [10:20] “<b>인용</b>”" in r and "extractive" in r
    h = a._repr_html_()
    assert "&lt;script&gt;" in h and "&lt;b&gt;인용&lt;/b&gt;" in h and "a&amp;b.txt" in h and "<script>" not in h


def test_llm_answer_with_citations(index, tiny_llama: Path) -> None:
    from rabbit_rag.generators.transformers_chat import load_chat_model

    engine = Engine(BM25Retriever(index), LLMGenerator(load_chat_model(str(tiny_llama))), k=3)
    answer = engine.ask("국회의원 임기는?")
    assert answer.text == LLAMA_SCRIPT and answer.generator == f"transformers:{tiny_llama}"
    assert answer.citations and answer.citations[0].n == 1
    assert "국회의원의 임기는 4년" in answer.citations[0].quote
    assert not verify(answer.citations, index.document_text)


def test_closing_the_engine_stream_stops_generation(index, tiny_llama_endless: Path) -> None:
    from rabbit_rag.generators.transformers_chat import load_chat_model

    model = load_chat_model(str(tiny_llama_endless), max_new_tokens=500_000)
    engine = Engine(BM25Retriever(index), LLMGenerator(model, max_new_tokens=500_000), k=2)
    events = engine.stream("국회의원 임기는?")
    for _ in range(5):
        assert isinstance(next(events), TokenEvent)
    events.close()
    deadline = time.time() + 2
    while model.last_stats is None and time.time() < deadline:
        time.sleep(0.01)
    assert model.last_stats is not None and model.last_stats.cancelled and model.last_stats.new_tokens < 1000


def test_constitution_questions(engine: Engine, index) -> None:
    """The 16 shared constitution questions: ≥ 15 answers contain the expected answer and every
    citation is exact (14 is the bar; 15 measured)."""
    rows = [json.loads(line) for line in shared_data("corpus", "constitution_qa.jsonl").read_text().splitlines()]
    assert len(rows) == 16
    right = 0
    for row in rows:
        answer = engine.ask(row["question"])
        right += row["answer"] in answer.text
        assert answer.citations, row["question"]
        assert not verify(answer.citations, index.document_text), row["question"]
    assert right >= 15
