"""``RabbitQueryEngine``: our answer engine as a llama-index query engine.

The response is a llama-index ``Response`` (or ``StreamingResponse``) whose ``source_nodes`` are the
numbered sources (``source_nodes[0]`` is ``[1]``) and whose ``metadata`` holds our structured
answer: ``citations`` (``n``, ``chunk_id``, ``doc_id``, ``source``, ``page``, ``start``, ``end``,
``quote`` — ``quote == document_text[start:end]``), ``generator``, ``timings``, ``notes`` and
``dropped_citations``. While a streaming response is being read, ``metadata["citations"]`` fills in
once the text is complete.

예::

    qe = RabbitQueryEngine.from_index("indexes/헌법", generator="extractive", mode="bm25")
    r = qe.query("국회의원의 임기는?")
    str(r)                                # '국회의원의 임기는 4년으로 한다. [1]'
    r.metadata["citations"][0]["quote"]   # '제42조 국회의원의 임기는 4년으로 한다.' (exact characters)
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from llama_index.core.base.base_query_engine import BaseQueryEngine
from llama_index.core.base.base_retriever import BaseRetriever
from llama_index.core.base.response.schema import RESPONSE_TYPE, Response, StreamingResponse
from llama_index.core.callbacks import CallbackManager
from llama_index.core.indices.base import BaseIndex
from llama_index.core.prompts.mixin import PromptMixinType
from llama_index.core.schema import NodeWithScore, QueryBundle

from rabbit_rag.engine import Answer, CitationsEvent, DoneEvent, Engine, TokenEvent, check_question
from rabbit_rag.generators.base import Generator
from rabbit_rag.generators.factory import make_generator
from rabbit_rag.integrations.llama_index.retrievers import LlamaIndexRetriever, hits_to_nodes
from rabbit_rag.types import ScoredChunk

if TYPE_CHECKING:
    from rabbit_rag.index import Index, SearchFilter
    from rabbit_rag.retrieval import Retriever


class _Fixed:
    """A retriever that returns hits already found (streaming shows the sources before the text)."""

    name = "fixed"

    def __init__(self, hits: list[ScoredChunk]) -> None:
        self.hits = hits

    def retrieve(self, query: str, k: int, filters: SearchFilter | None = None) -> list[ScoredChunk]:
        return self.hits[:k]


def answer_metadata(answer: Answer) -> dict[str, Any]:
    """The response metadata of an answer (see the module docstring)."""
    return {
        "citations": [c.to_dict() for c in answer.citations],
        "generator": answer.generator,
        "timings": dict(answer.timings),
        "notes": list(answer.notes),
        "dropped_citations": list(answer.dropped_citations),
    }


class RabbitQueryEngine(BaseQueryEngine):
    """Retrieve with any rabbit-rag or llama-index retriever, answer with any rabbit-rag generator,
    cite exact passages. ``streaming=True`` returns a ``StreamingResponse``."""

    def __init__(
        self,
        engine: Engine,
        *,
        k: int | None = None,
        streaming: bool = False,
        callback_manager: CallbackManager | None = None,
    ) -> None:
        self.engine = engine
        self.k = k if k is not None else engine.k
        self.streaming = streaming
        super().__init__(callback_manager=callback_manager)

    @classmethod
    def from_index(
        cls,
        index: Index | str | Path,
        generator: Generator | str = "extractive",
        *,
        mode: str = "hybrid",
        k: int = 5,
        streaming: bool = False,
        **generator_options: Any,
    ) -> RabbitQueryEngine:
        """Over an index (folder): ``mode`` retrieval and ``generator`` (a name or a Generator)."""
        return cls(Engine.from_index(index, generator, mode=mode, k=k, **generator_options), streaming=streaming)

    @classmethod
    def from_retriever(
        cls,
        retriever: Retriever | BaseRetriever | BaseIndex,
        generator: Generator | str = "extractive",
        *,
        k: int = 5,
        streaming: bool = False,
        **generator_options: Any,
    ) -> RabbitQueryEngine:
        """Over any retriever: ours, a llama-index ``BaseRetriever`` or a ``VectorStoreIndex``
        (citations then point into the texts the nodes were cut from, by their offsets).

        예: ``RabbitQueryEngine.from_retriever(vector_store_index, "extractive")``
        """
        if isinstance(retriever, BaseRetriever | BaseIndex):
            retriever = LlamaIndexRetriever(retriever)
        if isinstance(generator, str):
            generator = make_generator(generator, **generator_options)
        return cls(Engine(retriever, generator, k=k), streaming=streaming)

    def _get_prompt_modules(self) -> PromptMixinType:
        return {}

    def retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        return hits_to_nodes(self.engine.retriever.retrieve(query_bundle.query_str, self.k))

    def _query(self, query_bundle: QueryBundle) -> RESPONSE_TYPE:
        if self.streaming:
            return self._stream(query_bundle.query_str)
        answer = self.engine.ask(query_bundle.query_str, k=self.k)
        return Response(
            response=answer.text, source_nodes=hits_to_nodes(answer.sources), metadata=answer_metadata(answer)
        )

    async def _aquery(self, query_bundle: QueryBundle) -> RESPONSE_TYPE:
        return self._query(query_bundle)

    def _stream(self, question: str) -> StreamingResponse:

        e = self.engine
        q = check_question(question, e.max_question_chars)  # a bad question fails here, not mid-stream
        t0 = time.perf_counter()
        hits = e.retriever.retrieve(q, self.k)
        retrieve_ms = round((time.perf_counter() - t0) * 1000, 2)
        events = Engine(_Fixed(hits), e.generator, k=self.k, max_question_chars=e.max_question_chars).stream(q)
        metadata: dict[str, Any] = {"citations": [], "generator": e.generator.name}
        response = StreamingResponse(response_gen=iter(()), source_nodes=hits_to_nodes(hits), metadata=metadata)

        def tokens() -> Iterator[str]:
            try:
                for event in events:
                    if isinstance(event, TokenEvent):
                        yield event.text
                    elif isinstance(event, CitationsEvent):
                        metadata["citations"] = [c.to_dict() for c in event.citations]
                    elif isinstance(event, DoneEvent):
                        metadata.update(answer_metadata(event.answer))
                        metadata["timings"]["retrieve_ms"] = retrieve_ms  # done before the stream began
                        # the generator may have left low-ranked sources out; [n] counts what it used
                        response.source_nodes[:] = hits_to_nodes(event.answer.sources)
                        response.response_txt = event.answer.text
            finally:
                events.close()

        response.response_gen = tokens()
        return response
