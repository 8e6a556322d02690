"""OpenAI-compatible ``POST /v1/chat/completions`` (stream and non-stream) and ``GET /v1/models``.

``model`` names the collection. The last user message is the question; earlier user/assistant
pairs are the conversation (a follow-up such as ``그럼 국회의원은?`` is understood after them).
The answer keeps its ``[n]`` markers; the structured citations travel in extra fields
(``citations``, ``sources``, ``generator``, ``not_found``, ``span``, ``timings`` — the fields of
``ask``, from :class:`rabbit_rag.schemas.Answer`) that OpenAI clients keep. Sampling options are accepted
and ignored: the server's generator settings apply.

예::

    client = OpenAI(base_url="http://localhost:8000/v1", api_key=KEY)
    r = client.chat.completions.create(model="헌법", messages=[{"role": "user", "content": "대통령 임기는?"}])
    r.choices[0].message.content        # '대통령의 임기는 5년으로 하며, 중임할 수 없다. [1]'
    r.model_extra["citations"][0]["quote"]
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Sequence
from typing import Any

from fastapi import APIRouter
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from rabbit_rag.api import schemas
from rabbit_rag.api.collections import check_name
from rabbit_rag.api.deps import Caller, State
from rabbit_rag.api.errors import error_payload, error_responses, scrub_paths
from rabbit_rag.api.sse import iterate_in_thread, sse_data
from rabbit_rag.conversation import Turn, topic_for
from rabbit_rag.errors import InvalidInputError, RabbitRagError

router = APIRouter(prefix="/v1", tags=["openai"])
log = logging.getLogger("rabbit_rag.api")
MAX_TURNS = 8
#: One streamed event: `data:` holds a `chat.completion.chunk` (JSON) or `[DONE]` at the end.
OPENAI_SSE_EVENT = {
    "type": "object",
    "required": ["data"],
    "properties": {"data": {"type": "string", "description": "A chat.completion.chunk as JSON, or [DONE]."}},
}


def _text(content: str | list[schemas.ContentPart] | None) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    return "\n".join(p.text for p in content if p.type == "text" and p.text)


def conversation(messages: Sequence[schemas.OpenAIMessage]) -> tuple[str, list[Any]]:
    """The question (the last user message) and the earlier user/assistant pairs as turns (the last
    :data:`MAX_TURNS`; older messages are not analyzed at all)."""

    said = [(m.role, _text(m.content)) for m in messages if m.role in ("user", "assistant")]
    if not said or said[-1][0] != "user":
        raise InvalidInputError("the last user/assistant message must be the user's question (role 'user')")
    turns: list[Turn] = []
    pending: str | None = None
    for role, text in said[-(4 * MAX_TURNS + 1) : -1]:
        if role == "user":
            pending = text
        elif pending is not None and pending.strip():
            turns.append(Turn(pending, text, topic_for(pending, turns)))
            pending = None
    return said[-1][1], turns[-MAX_TURNS:]


def _chunk(
    cid: str, created: int, model: str, delta: dict[str, Any], finish: str | None = None, **extra: Any
) -> dict[str, Any]:
    return {
        "id": cid, "object": "chat.completion.chunk", "created": created, "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}], **extra,
    }  # fmt: skip


async def _openai_stream(events: Any, cid: str, created: int, model: str, state: State, revision: int) -> Any:
    yield sse_data(_chunk(cid, created, model, {"role": "assistant", "content": ""}))
    try:
        async for event in iterate_in_thread(events, on_stop=state.metrics.stream_disconnects.inc):
            if event.type == "token":
                yield sse_data(_chunk(cid, created, model, {"content": event.text}))
            elif event.type == "done":
                a = event.answer.to_dict()
                yield sse_data(
                    _chunk(cid, created, model, {}, "stop", **_extra(a), answer=a["answer"], revision=revision)
                )
        yield sse_data("[DONE]")
    except RabbitRagError as e:
        yield sse_data(error_payload(type(e).__name__, scrub_paths(str(e), (str(state.collections.root),))))
    except Exception:
        log.exception("chat completion stream failed")
        yield sse_data(error_payload("InternalError", "internal error; the server log has the details"))


@router.post(
    "/chat/completions",
    response_model=schemas.ChatCompletion,
    summary="OpenAI-compatible chat completion over a collection (model = collection name)",
    responses={
        200: {"content": {"text/event-stream": {"schema": OPENAI_SSE_EVENT}}},
        **error_responses(401, 403, 404, 413, 422, 502, 503, 504),
    },
)
async def chat_completions(body: schemas.ChatCompletionRequest, state: State, who: Caller) -> Any:
    """Point any OpenAI client at `http://HOST:PORT/v1` with an API key as `api_key`. With
    `stream: true` the answer streams as `chat.completion.chunk`s ending in `data: [DONE]`; the last
    chunk carries `citations`, `sources`, `generator`, `not_found`, `span`, `timings` and `revision` (the
    collection revision the citations' offsets point into)."""
    name = check_name(body.model)
    who.require("read", name)
    question, turns = await run_in_threadpool(conversation, body.messages)
    index = await run_in_threadpool(state.collections.get, name)
    engine = await run_in_threadpool(state.answers.engine, name, index, None)
    events = engine.stream(question, history=turns)  # bad questions raise here: a JSON 422
    cid, created = f"chatcmpl-{uuid.uuid4().hex}", int(time.time())
    if body.stream:
        return StreamingResponse(
            _openai_stream(events, cid, created, name, state, index.revision),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
    answer = None
    async for event in iterate_in_thread(events):
        if event.type == "done":
            answer = event.answer.to_dict()
    assert answer is not None
    return {
        "id": cid, "object": "chat.completion", "created": created, "model": name,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": answer["answer"]}, "finish_reason": "stop"}],
        **_extra(answer), "revision": index.revision,
    }  # fmt: skip


def _extra(answer: dict[str, Any]) -> dict[str, Any]:
    return {k: answer[k] for k in schemas.ANSWER_EXTRA_FIELDS}


@router.get(
    "/models",
    response_model=schemas.ModelList,
    summary="The collections this key can ask, as OpenAI models",
    responses=error_responses(401),
)
def list_models(state: State, who: Caller) -> schemas.ModelList:
    cards = []
    for name in state.collections.names():
        if who.can("read", name):
            cards.append(schemas.ModelCard(id=name, created=state.collections.created(name)))
    return schemas.ModelList(data=cards)
