"""Any OpenAI-compatible ``/v1/chat/completions`` server as a streaming :class:`ChatModel`.

vLLM (GPU serving at scale), llama.cpp's ``llama-server``, Ollama, TGI and hosted APIs all speak
this protocol. We talk to it with ``httpx`` rather than the ``openai`` package: httpx is already
installed with our stack, it gives separate connect and read timeouts with no hidden retries (the
``openai`` client retries twice with back-off by default, so a dead server would take three times
the timeout to report), and server-sent events are a few lines to parse.

Timeouts: ``connect_timeout`` for the connection, ``timeout`` for each wait on the server (the
first token included). A server that accepts the request and then goes quiet fails with
:class:`GeneratorTimeoutError` after ``timeout`` seconds — a long answer that keeps streaming is
never cut. Closing the stream closes the connection, which vLLM takes as "abort this request".

예::

    model = OpenAIChatModel("http://localhost:8000/v1", "CarrotAI/Llama-3.2-Rabbit-Ko-3B-Instruct-2412")
    print("".join(model.stream_chat([{"role": "user", "content": "안녕하세요"}])))
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from rabbit_rag.errors import GeneratorError, GeneratorTimeoutError, InvalidInputError
from rabbit_rag.generators.base import (
    DEFAULT_MAX_NEW_TOKENS,
    DEFAULT_OPENAI_CONNECT_TIMEOUT,
    DEFAULT_OPENAI_MAX_CONTEXT,
    DEFAULT_OPENAI_TIMEOUT,
    DEFAULT_TEMPERATURE,
    DEFAULT_TOP_P,
    ChatMessage,
)

#: Tokens added per message by typical chat templates (role header and end-of-turn).
MESSAGE_OVERHEAD_TOKENS = 8


def estimate_tokens(messages: Sequence[ChatMessage]) -> int:
    """An upper estimate of prompt tokens without the server's tokenizer: one token per character.

    Llama 3's tokenizer spends about 0.6–1 token per Hangul syllable and fewer per space or Latin
    letter, so counting characters overestimates: the prompt never overflows the server's context.
    """
    return sum(len(m["content"]) + MESSAGE_OVERHEAD_TOKENS for m in messages) + MESSAGE_OVERHEAD_TOKENS


class OpenAIChatModel:
    """A model behind an OpenAI-compatible server. ``base_url`` ends with ``/v1`` (e.g.
    ``http://localhost:8000/v1``); ``model`` is the name the server serves."""

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key: str | None = None,
        timeout: float = DEFAULT_OPENAI_TIMEOUT,
        connect_timeout: float = DEFAULT_OPENAI_CONNECT_TIMEOUT,
        max_context: int = DEFAULT_OPENAI_MAX_CONTEXT,
        max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS,
        temperature: float = DEFAULT_TEMPERATURE,
        top_p: float = DEFAULT_TOP_P,
        transport: Any = None,
    ) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise InvalidInputError(
                f"OpenAI-compatible base URL {base_url!r} must start with http:// or https://, "
                "e.g. http://localhost:8000/v1"
            )
        if not model:
            raise InvalidInputError("give the model name the OpenAI-compatible server serves (RABBIT_RAG_OPENAI_MODEL)")
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.api_key = api_key
        self.timeout = float(timeout)
        self.connect_timeout = float(min(connect_timeout, timeout))
        self._max_context = int(max_context)
        self.max_new_tokens = max_new_tokens
        self.temperature = temperature
        self.top_p = top_p
        self._transport = transport
        self._client: Any = None
        self._client_lock = threading.Lock()

    @property
    def name(self) -> str:
        return f"openai:{self.model}"

    @property
    def max_context(self) -> int:
        return self._max_context

    @property
    def url(self) -> str:
        return f"{self.base_url}/chat/completions"

    def count_tokens(self, messages: Sequence[ChatMessage]) -> int:
        return estimate_tokens(messages)

    def _http(self) -> Any:
        if self._client is None:
            with self._client_lock:
                if self._client is None:
                    import httpx

                    self._client = httpx.Client(
                        timeout=httpx.Timeout(self.timeout, connect=self.connect_timeout),
                        transport=self._transport,
                        follow_redirects=True,
                    )
        return self._client

    def close(self) -> None:
        """Close the connection pool."""
        if self._client is not None:
            self._client.close()
            self._client = None

    def stream_chat(
        self, messages: Sequence[ChatMessage], *, max_new_tokens: int | None = None, temperature: float | None = None
    ) -> Iterator[str]:
        """The reply as the server streams it. Raises :class:`GeneratorError` (server down, HTTP
        error, malformed answer) or :class:`GeneratorTimeoutError` while iterating."""
        temp = self.temperature if temperature is None else temperature
        body: dict[str, Any] = {
            "model": self.model,
            "messages": [{"role": m["role"], "content": m["content"]} for m in messages],
            "stream": True,
            "max_tokens": int(max_new_tokens or self.max_new_tokens),
            "temperature": float(temp),
        }
        if temp > 0:
            body["top_p"] = float(self.top_p)
        return self._stream(body)

    def _stream(self, body: dict[str, Any]) -> Iterator[str]:
        import httpx

        headers = {"Accept": "text/event-stream"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        try:
            with self._http().stream("POST", self.url, json=body, headers=headers) as resp:
                if resp.status_code >= 400:
                    resp.read()
                    raise GeneratorError(self._http_error(resp))
                if "text/event-stream" not in resp.headers.get("content-type", ""):
                    resp.read()  # a server that ignored stream=true answers one JSON object
                    content = _message_content(self._json(resp.text))
                    if content:
                        yield content
                    return
                yield from self._events(_sse_data(resp.iter_lines()))
        except httpx.ConnectTimeout as e:
            raise GeneratorTimeoutError(
                f"no connection to {self.url} within {self.connect_timeout:g}s; is the server up? "
                "(RABBIT_RAG_OPENAI_BASE_URL, RABBIT_RAG_OPENAI_CONNECT_TIMEOUT)"
            ) from e
        except httpx.TimeoutException as e:
            raise GeneratorTimeoutError(
                f"{self.url} sent nothing for {self.timeout:g}s ({type(e).__name__}); the server is overloaded or "
                "stuck. Raise RABBIT_RAG_OPENAI_TIMEOUT for slow servers"
            ) from e
        except httpx.ConnectError as e:
            raise GeneratorError(
                f"cannot connect to the OpenAI-compatible server at {self.base_url} ({e}); start it (e.g. "
                f"`vllm serve {self.model}`) or set RABBIT_RAG_OPENAI_BASE_URL"
            ) from e
        except httpx.HTTPError as e:
            raise GeneratorError(f"the connection to {self.url} broke off: {type(e).__name__}: {e}") from e

    def _events(self, events: Iterable[str]) -> Iterator[str]:
        finished = False
        for data in events:
            if data.strip() == "[DONE]":
                return
            chunk = self._json(data)
            if "error" in chunk:
                raise GeneratorError(f"{self.url} reported an error mid-answer: {_error_text(chunk)}")
            choices = chunk.get("choices")
            if not isinstance(choices, list):
                raise GeneratorError(f"{self.url} answered badly: a stream chunk without 'choices': {data[:200]!r}")
            if not choices:  # e.g. a final usage-only chunk
                continue
            choice = choices[0] if isinstance(choices[0], dict) else {}
            delta = choice.get("delta") or {}
            content = delta.get("content") if isinstance(delta, dict) else None
            if content:
                yield str(content)
            finished = finished or bool(choice.get("finish_reason"))
        if not finished:
            raise GeneratorError(f"{self.url} ended the stream without finishing the answer (no [DONE])")

    def _json(self, text: str) -> dict[str, Any]:
        try:
            obj = json.loads(text)
        except ValueError:
            raise GeneratorError(f"{self.url} answered badly: not JSON: {text[:200]!r}") from None
        if not isinstance(obj, dict):
            raise GeneratorError(f"{self.url} answered badly: expected a JSON object, got {text[:200]!r}")
        return obj

    def _http_error(self, resp: Any) -> str:
        try:
            detail = _error_text(resp.json())
        except ValueError:
            detail = resp.text[:300]
        hint = {
            401: "check RABBIT_RAG_OPENAI_API_KEY",
            403: "check RABBIT_RAG_OPENAI_API_KEY",
            404: f"check that RABBIT_RAG_OPENAI_BASE_URL ends with /v1 and that the server serves model {self.model!r} "
            "(GET /v1/models)",
            400: "the server refused the request; a prompt over its context length is the usual cause "
            "(RABBIT_RAG_OPENAI_MAX_CONTEXT)",
        }.get(resp.status_code, "see the server's log")
        return f"{self.url} answered HTTP {resp.status_code}: {detail}; {hint}"


def _error_text(obj: Any) -> str:
    err = obj.get("error") if isinstance(obj, dict) else None
    if isinstance(err, dict):
        return str(err.get("message") or err)
    if err:
        return str(err)
    return str(obj.get("message") or obj.get("detail") or obj)[:300] if isinstance(obj, dict) else str(obj)[:300]


def _message_content(obj: dict[str, Any]) -> str:
    try:
        content = obj["choices"][0]["message"]["content"]
    except (KeyError, IndexError, TypeError):
        raise GeneratorError(f"answered badly: no choices[0].message.content in {json.dumps(obj)[:200]}") from None
    return str(content or "")


def _sse_data(lines: Iterable[str]) -> Iterator[str]:
    """The ``data`` payload of each server-sent event (multi-line data joined with newlines)."""
    buf: list[str] = []
    for line in lines:
        if not line:
            if buf:
                yield "\n".join(buf)
                buf = []
            continue
        if line.startswith(":"):
            continue
        field, _, value = line.partition(":")
        if field == "data":
            buf.append(value[1:] if value.startswith(" ") else value)
    if buf:
        yield "\n".join(buf)
