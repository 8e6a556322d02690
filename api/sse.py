"""Server-sent events from a blocking iterator, stopping the iterator when the client goes away.

The engine's event iterator is synchronous (retrieval, then token by token generation). It runs on
its own thread, which hands each event to the response through an asyncio queue. When the client
disconnects, Starlette cancels the response; :func:`iterate_in_thread` then sets a stop flag that
the thread checks before asking for the next event, and the thread closes the iterator itself (a
generator may only be closed by the thread that runs it), which stops the generation.

예::

    async def body():
        async for event in iterate_in_thread(engine.stream("대통령 임기는?")):
            yield sse(event.type, event.to_dict())
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any, TypeVar

T = TypeVar("T")

_ITEM, _ERROR, _END = 0, 1, 2


def sse(event: str, data: Any) -> str:
    """One server-sent event: ``event: <name>`` and one ``data:`` line of JSON (Korean unescaped)."""
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


def sse_data(data: Any) -> str:
    """A nameless event (the OpenAI streaming format): ``data: <json>``."""
    return f"data: {data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)}\n\n"


async def iterate_in_thread(
    it: Iterator[T], on_stop: Callable[[], None] | None = None, name: str = "rr-stream"
) -> AsyncIterator[T]:
    """Items of the blocking iterator ``it``, produced on a dedicated thread. If the consumer stops
    early (closed, cancelled by a disconnect), the thread closes ``it`` before its next item and
    ``on_stop`` is called once."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[int, Any]] = asyncio.Queue()
    stop = threading.Event()
    sentinel = object()

    def put(kind: int, value: Any) -> None:
        with contextlib.suppress(RuntimeError):  # the loop is gone: nobody is listening any more
            loop.call_soon_threadsafe(queue.put_nowait, (kind, value))

    def produce() -> None:
        try:
            while not stop.is_set():
                item = next(it, sentinel)
                if item is sentinel:
                    break
                put(_ITEM, item)
        except BaseException as e:  # handed to the consumer, which raises it
            put(_ERROR, e)
        finally:
            close = getattr(it, "close", None)
            if close is not None:
                close()  # on this thread, the one that ran it: stops a generation in progress
            put(_END, None)

    thread = threading.Thread(target=produce, name=name, daemon=True)
    thread.start()
    finished = False
    try:
        while True:
            kind, value = await queue.get()
            if kind == _ITEM:
                yield value
            elif kind == _ERROR:
                finished = True
                raise value
            else:
                finished = True
                return
    finally:
        if not finished:
            stop.set()
            if on_stop is not None:
                on_stop()
