"""``POST /v1/collections/{name}/ask``: a cited answer as JSON, or streamed as Server-Sent Events.

Stream events, in order: ``token`` (``{"text"}``, many), ``citations`` (``{"citations", "dropped"}``),
``done`` (the whole answer, the JSON shape). A failure after the stream started is an ``error``
event with the one error shape. A client that disconnects stops the generation.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from rabbit_rag.api import schemas
from rabbit_rag.api.deps import Readable, State
from rabbit_rag.api.errors import error_payload, error_responses, scrub_paths
from rabbit_rag.api.sse import iterate_in_thread, sse
from rabbit_rag.errors import RabbitRagError

router = APIRouter(prefix="/v1/collections/{name}", tags=["ask"])
log = logging.getLogger("rabbit_rag.api")

_SSE_EXAMPLE = (
    'event: token\ndata: {"text": "대통령의 임기는 5년으로 하며"}\n\n'
    'event: token\ndata: {"text": ", 중임할 수 없다. [1]"}\n\n'
    'event: citations\ndata: {"citations": [{"n": 1, "quote": "제70조 대통령의 임기는 5년으로 하며, 중임할 수 없다.", ...}], "dropped": []}\n\n'
    'event: done\ndata: {"question": "대통령 임기는 몇 년이야?", "answer": "...", "generator": "extractive", ...}\n\n'
)


#: One server-sent event (OpenAPI 3.1 reads a stream's `schema` as the schema of each event).
SSE_EVENT = {
    "type": "object",
    "required": ["event", "data"],
    "properties": {
        "event": {"type": "string", "enum": ["token", "citations", "done", "error"]},
        "data": {"type": "string", "contentMediaType": "application/json", "description": "The event's JSON."},
    },
}


def answer_dict(name: str, answer: Any, revision: int) -> dict[str, Any]:
    return {
        "collection": name, "revision": revision, **answer.to_dict(), "timings": answer.timings,
        "notes": answer.notes,
    }  # fmt: skip


async def sse_answer(name: str, events: Any, state: State, revision: int) -> Any:
    """The SSE body for an engine's event iterator."""
    try:
        async for event in iterate_in_thread(events, on_stop=state.metrics.stream_disconnects.inc):
            data = answer_dict(name, event.answer, revision) if event.type == "done" else event.to_dict()
            yield sse(event.type, data)
    except RabbitRagError as e:
        yield sse("error", error_payload(type(e).__name__, scrub_paths(str(e), (str(state.collections.root),))))
    except Exception:  # the stream has started: the status is sent, so the failure travels as an event
        log.exception("ask stream failed")
        yield sse("error", error_payload("InternalError", "internal error; the server log has the details"))


@router.post(
    "/ask",
    response_model=schemas.AskResponse,
    summary="Answer a question from the collection, citing the exact sentences (JSON, or SSE with stream=true)",
    responses={
        200: {"content": {"text/event-stream": {"schema": SSE_EVENT, "example": _SSE_EXAMPLE}}},
        **error_responses(401, 403, 404, 422, 502, 503, 504),
    },
)
async def ask(name: Readable, body: schemas.AskRequest, state: State) -> Any:
    """With `"stream": true` the answer arrives as Server-Sent Events: `token`, then `citations`, then
    `done` (or `error`). Each citation's `quote` is `document text[start:end]` of its `doc_id`."""
    index = await run_in_threadpool(state.collections.get, name)
    engine = await run_in_threadpool(state.answers.engine, name, index, body.mode)
    events = engine.stream(body.question, k=body.top_k)  # bad questions raise here: a JSON 422, not a stream
    if body.stream:
        return StreamingResponse(
            sse_answer(name, events, state, index.revision),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
    done = None
    async for event in iterate_in_thread(events):
        if event.type == "done":
            done = event.answer
    assert done is not None
    return answer_dict(name, done, index.revision)
