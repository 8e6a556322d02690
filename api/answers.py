"""Answer engines per collection: the library's :class:`~rabbit_rag.engine.Engine` over the open snapshot.

The generator (``RABBIT_RAG_LLM``: auto, transformers, openai or extractive) is built once, at
start-up, so ``/readyz`` waits for the language model; an engine is a retriever over one snapshot
plus that generator, rebuilt (cheaply) when the collection's snapshot changes after an ingest.
Everything here mirrors ``rabbit-rag ask`` so the CLI and the API answer alike.

예::

    engines = AnswerEngines(Settings(llm="extractive"))
    engine = engines.engine("헌법", registry.get("헌법"))
    engine.ask("대통령 임기는 몇 년이야?").text
"""

from __future__ import annotations

import threading
from typing import Any

from rabbit_rag.components import engine_from_settings, generator_from_settings
from rabbit_rag.engine import Engine
from rabbit_rag.generators.base import Generator
from rabbit_rag.index import Index
from rabbit_rag.settings import Settings


class AnswerEngines:
    """Builds and caches one engine per (collection snapshot, retrieval mode)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._generators: dict[int, Generator] = {}  # by id() of the embedder the extractive answerer scores with
        self._engines: dict[tuple[str, str], tuple[Index, int, Engine]] = {}
        self.override: Generator | None = None  # tests and embedders of the API may set their own

    def generator(self, embedder: Any = None) -> Generator:
        """The configured generator (a language model loads once per process; a fallback says so)."""
        if self.override is not None:
            return self.override
        key = id(embedder)
        with self._lock:
            gen = self._generators.get(key)
            if gen is None:
                gen = self._generators[key] = generator_from_settings(self.settings, embedder=embedder)
            return gen

    def engine(self, name: str, index: Index, mode: str | None = None) -> Engine:
        s = self.settings
        mode = mode or s.ask_mode
        cached = self._engines.get((name, mode))
        if cached is not None and cached[0] is index and cached[1] == index.revision and self.override is None:
            return cached[2]
        engine = engine_from_settings(s, index, llm=self.generator, mode=mode)
        self._engines[(name, mode)] = (index, index.revision, engine)
        return engine
