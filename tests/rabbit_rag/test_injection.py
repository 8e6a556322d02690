"""Only the generator's markers become citations: ``[n]`` written in a document never does."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from rabbit_rag.citations import parse_markers, verify
from rabbit_rag.engine import Engine
from rabbit_rag.generators.extractive import ExtractiveGenerator
from rabbit_rag.generators.llm import LLMGenerator
from rabbit_rag.generators.openai_chat import OpenAIChatModel
from rabbit_rag.ingest import ingest_documents
from rabbit_rag.retrieval import BM25Retriever
from rabbit_rag.types import Document

PLANTED = "비상 대피 절차는 소방청 지침[2]과 건물 안전 기준[1-5]에 따라 3층 비상구로 나가는 것이다."
DOCS = [
    Document(source="대피.txt", text=f"비상 대피 안내\n{PLANTED}\n대피 훈련은 매년 4월에 한다."),
    *(
        Document(source=f"기타{i}.txt", text=f"제{i}조 회의실 {i}층 예약은 인사팀이 관리하며 절차는 간단하다.")
        for i in range(1, 6)
    ),
]
QUESTION = "비상 대피 절차는 무엇에 따라 어디로 나가는 거야?"


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory):
    from rabbit_rag.index import open_index

    path = tmp_path_factory.mktemp("inject") / "idx"
    ingest_documents(DOCS, path, embed_model="none", progress=False)
    idx = open_index(path)
    yield idx
    idx.close()


def test_extractive_quotes_document_markers_without_citing_them(index) -> None:
    answer = Engine(BM25Retriever(index), ExtractiveGenerator(), k=5).ask(QUESTION)
    assert "소방청 지침〔2〕과 건물 안전 기준〔1-5〕" in answer.text  # reads the same, is no marker
    assert [m.numbers for m in parse_markers(answer.text)] == [(1,)]
    assert [c.n for c in answer.citations] == [1]
    assert answer.citations[0].quote == PLANTED  # the quote is the document's own text, markers and all
    assert not verify(answer.citations, index.document_text)


class _EchoServer(ThreadingHTTPServer):
    """An OpenAI-compatible server whose model quotes the source line that mentions 대피, then cites [1]."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Echo)
        self.prompts: list[str] = []


class _Echo(BaseHTTPRequestHandler):
    server: _EchoServer
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:
        pass

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        prompt = body["messages"][-1]["content"]
        self.server.prompts.append(prompt)
        line = next(x for x in prompt.splitlines() if "소방청" in x)
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Connection", "close")
        self.end_headers()
        for piece in (line[:20], line[20:], " [1]"):
            chunk = {"choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}]}
            self.wfile.write(f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n".encode())
        self.wfile.write(b"data: [DONE]\n\n")
        self.wfile.flush()


@pytest.fixture()
def echo_server() -> Iterator[_EchoServer]:
    server = _EchoServer()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_a_model_quoting_a_document_marker_cites_only_its_own(index, echo_server: _EchoServer) -> None:
    url = f"http://127.0.0.1:{echo_server.server_address[1]}/v1"
    engine = Engine(BM25Retriever(index), LLMGenerator(OpenAIChatModel(url, "echo")), k=5)
    answer = engine.ask(QUESTION)
    prompt = echo_server.prompts[-1]
    # the model saw the document's markers in their look-alike form, and its own [n] source headers
    assert "지침〔2〕과 건물 안전 기준〔1-5〕" in prompt and "지침[2]" not in prompt and "[1] 출처:" in prompt
    assert "〔2〕" in answer.text and [c.n for c in answer.citations] == [1]
    assert PLANTED in answer.citations[0].quote
    assert not verify(answer.citations, index.document_text)


def test_the_chat_template_sees_neutralized_markers(index, tiny_llama: Path) -> None:
    from rabbit_rag.generators.transformers_chat import load_chat_model
    from rabbit_rag.prompts import build_messages

    model = load_chat_model(str(tiny_llama))
    hits = BM25Retriever(index).retrieve(QUESTION, 5)
    rendered = model.render(build_messages(QUESTION, hits))
    assert "지침〔2〕과 건물 안전 기준〔1-5〕" in rendered and "지침[2]" not in rendered
    # the scripted model writes its own marker, which is a citation
    answer = Engine(BM25Retriever(index), LLMGenerator(model), k=5).ask(QUESTION)
    assert [m.numbers for m in parse_markers(answer.text)] == [(1,)] and answer.citations
