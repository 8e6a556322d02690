"""The OpenAI-compatible backend against a small fake server started by the tests."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from rabbit_rag.errors import GeneratorError, GeneratorTimeoutError
from rabbit_rag.generators.llm import LLMGenerator
from rabbit_rag.generators.openai_chat import OpenAIChatModel, estimate_tokens

PIECES = ["국회의원의", " 임기는", " 4년으로", " 한다", " [1]."]


class FakeServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.requests: list[dict] = []
        self.disconnected = threading.Event()
        self.sent_in_endless = 0

    def handle_error(self, request, client_address) -> None:
        pass  # clients that time out on purpose leave broken pipes behind

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"


class Handler(BaseHTTPRequestHandler):
    server: FakeServer
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:  # keep test output clean
        pass

    def _sse_head(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Connection", "close")
        self.end_headers()

    def _event(self, obj: object) -> None:
        data = obj if isinstance(obj, str) else json.dumps(obj, ensure_ascii=False)
        self.wfile.write(f"data: {data}\n\n".encode())
        self.wfile.flush()

    def _chunk(self, content: str | None, finish: str | None = None) -> dict:
        delta = {"content": content} if content is not None else {}
        return {
            "id": "x",
            "object": "chat.completion.chunk",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }

    def _json(self, status: int, obj: object) -> None:
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.requests.append({"path": self.path, "body": body, "auth": self.headers.get("Authorization")})
        mode = body["model"]
        if self.path != "/v1/chat/completions":
            return self._json(404, {"error": {"message": f"no route {self.path}"}})
        if mode == "ok":
            self._sse_head()
            self._event({"choices": [{"index": 0, "delta": {"role": "assistant"}, "finish_reason": None}]})
            for p in PIECES:
                self._event(self._chunk(p))
            self._event(self._chunk(None, "stop"))
            self._event({"choices": [], "usage": {"prompt_tokens": 10, "completion_tokens": 5}})
            self._event("[DONE]")
        elif mode == "slow":
            time.sleep(3)
            self._json(200, {})
        elif mode == "stall":
            self._sse_head()
            self._event(self._chunk("국회의원의"))
            time.sleep(3)
        elif mode == "bad-json":
            self._sse_head()
            self._event("{this is not json")
        elif mode == "no-choices":
            self._sse_head()
            self._event({"object": "chat.completion.chunk"})
        elif mode == "error-event":
            self._sse_head()
            self._event({"error": {"message": "model overloaded"}})
        elif mode == "truncated":
            self._sse_head()
            self._event(self._chunk("국회의원의"))
        elif mode == "http-500":
            self._json(500, {"error": {"message": "internal boom"}})
        elif mode == "http-401":
            self._json(401, {"error": {"message": "invalid api key"}})
        elif mode == "json":
            self._json(200, {"choices": [{"index": 0, "message": {"role": "assistant", "content": "".join(PIECES)}}]})
        elif mode == "endless":
            self._sse_head()
            try:
                for _ in range(2000):
                    self._event(self._chunk(" 국회"))
                    self.server.sent_in_endless += 1
                    time.sleep(0.005)
            except (BrokenPipeError, ConnectionResetError):
                self.server.disconnected.set()
        else:
            self._json(404, {"error": {"message": f"The model `{mode}` does not exist."}})


@pytest.fixture(scope="module")
def server() -> Iterator[FakeServer]:
    srv = FakeServer()
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def model(server: FakeServer, name: str, **kw) -> OpenAIChatModel:
    return OpenAIChatModel(server.url, name, **{"timeout": 5.0, **kw})


MESSAGES = [{"role": "system", "content": "시스템"}, {"role": "user", "content": "국회의원 임기는?"}]


def test_streams_pieces_and_sends_the_request(server: FakeServer) -> None:
    m = model(server, "ok", api_key="sk-test", max_new_tokens=77)
    assert m.name == "openai:ok"
    pieces = list(m.stream_chat(MESSAGES))
    assert pieces == PIECES
    req = server.requests[-1]
    assert req["auth"] == "Bearer sk-test"
    assert req["body"]["stream"] is True and req["body"]["max_tokens"] == 77 and req["body"]["temperature"] == 0.0
    assert req["body"]["messages"] == MESSAGES


def test_non_streaming_json_answer_is_accepted(server: FakeServer) -> None:
    assert "".join(model(server, "json").stream_chat(MESSAGES)) == "".join(PIECES)


def test_timeout_is_a_clear_error_within_the_timeout(server: FakeServer) -> None:
    m = model(server, "slow", timeout=0.5)
    t0 = time.perf_counter()
    with pytest.raises(GeneratorTimeoutError, match=r"0\.5s"):
        list(m.stream_chat(MESSAGES))
    assert time.perf_counter() - t0 < 2.0


def test_stall_mid_answer_times_out(server: FakeServer) -> None:
    stream = model(server, "stall", timeout=0.5).stream_chat(MESSAGES)
    assert next(stream) == "국회의원의"
    t0 = time.perf_counter()
    with pytest.raises(GeneratorTimeoutError):
        next(stream)
    assert time.perf_counter() - t0 < 2.0


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("bad-json", "not JSON"),
        ("no-choices", "without 'choices'"),
        ("error-event", "model overloaded"),
        ("truncated", "without finishing"),
        ("http-500", "HTTP 500: internal boom"),
        ("http-401", "RABBIT_RAG_OPENAI_API_KEY"),
        ("unknown-model", "HTTP 404"),
    ],
)
def test_bad_answers_are_clear_errors(server: FakeServer, name: str, message: str) -> None:
    with pytest.raises(GeneratorError, match=message):
        list(model(server, name).stream_chat(MESSAGES))


def test_server_down_is_a_clear_error() -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    m = OpenAIChatModel(f"http://127.0.0.1:{port}/v1", "m", timeout=2.0)
    t0 = time.perf_counter()
    with pytest.raises(GeneratorError, match="cannot connect"):
        list(m.stream_chat(MESSAGES))
    assert time.perf_counter() - t0 < 2.0


def test_closing_the_stream_disconnects(server: FakeServer) -> None:
    stream = model(server, "endless").stream_chat(MESSAGES)
    for _ in range(3):
        next(stream)
    stream.close()
    assert server.disconnected.wait(5.0)  # the server saw the client go: vLLM aborts the request then
    assert server.sent_in_endless < 2000


def test_llm_generator_over_openai(server: FakeServer, sample_index_ro) -> None:
    from rabbit_rag.engine import Engine
    from rabbit_rag.index import open_index
    from rabbit_rag.retrieval import BM25Retriever

    index = open_index(sample_index_ro)
    engine = Engine(BM25Retriever(index), LLMGenerator(model(server, "ok", max_context=2048)), k=5)
    answer = engine.ask("국회의원 임기는?")
    assert answer.generator == "openai:ok"
    assert answer.text == "".join(PIECES)
    c = answer.citations[0]
    assert c.n == 1 and "국회의원의 임기는 4년" in c.quote
    assert index.document_text(c.doc_id)[c.start : c.end] == c.quote
    prompt = server.requests[-1]["body"]["messages"][-1]["content"]
    assert "[1] 출처: samples/constitution.txt" in prompt and "질문: 국회의원 임기는?" in prompt
    assert estimate_tokens(server.requests[-1]["body"]["messages"]) <= 2048 - 512  # fitted to context - answer


def test_bad_base_url_is_refused() -> None:
    from rabbit_rag.errors import InvalidInputError

    with pytest.raises(InvalidInputError, match="http"):
        OpenAIChatModel("localhost:8000", "m")
