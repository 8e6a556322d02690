"""rabbit-rag's Korean parts as llama-index components, and llama-index parts inside rabbit-rag.

Into llama-index:

- :class:`KiwiSentenceSplitter` — a ``TextSplitter``/``NodeParser`` on Kiwi sentence boundaries whose
  nodes carry exact offsets: ``document.text[node.start_char_idx:node.end_char_idx] == node.text``;
- :class:`RabbitRetriever` — our BM25 / dense / hybrid retrievers as a ``BaseRetriever`` over a
  rabbit-rag index (nodes carry ``chunk_id``, ``doc_id``, ``source``, ``page``, ``start``, ``end``);
- :class:`RabbitLLM` — our generators and chat models as a llama-index ``LLM`` (complete, chat and
  their streaming forms), the extractive answerer included, so an app runs with no model at all;
- :class:`RabbitEmbedding` — our embedders as a ``BaseEmbedding``;
- :class:`RabbitQueryEngine` — retrieval, generation and our citations: ``response.source_nodes``
  and ``response.metadata["citations"]``.

Out of llama-index:

- :class:`LlamaIndexRetriever` — any llama-index retriever or ``VectorStoreIndex`` (so any vector
  store llama-index supports) as a rabbit-rag retriever, e.g. the dense side of a
  :class:`~rabbit_rag.retrieval.HybridRetriever` inside :class:`~rabbit_rag.engine.Engine`;
- :func:`vector_index` — a rabbit-rag index's chunks (and stored vectors) as a ``VectorStoreIndex``
  on any vector store; :func:`index_nodes`, :func:`chunk_to_node`, :func:`node_to_chunk`.

Needs the ``llama-index`` extra (``pip install 'rabbit-rag[llama-index]'``).

예::

    from llama_index.core.query_engine import RetrieverQueryEngine
    from rabbit_rag.integrations.llama_index import RabbitLLM, RabbitRetriever

    retriever = RabbitRetriever.from_index("indexes/헌법", mode="bm25", k=3)
    engine = RetrieverQueryEngine.from_args(retriever, llm=RabbitLLM("extractive"))
    print(engine.query("국회의원의 임기는?"))
"""

from __future__ import annotations

try:
    import llama_index.core  # noqa: F401
except ImportError as e:  # pragma: no cover - depends on the installation
    raise ImportError(
        "rabbit_rag.integrations.llama_index needs llama-index-core, which is not installed; "
        "install it from the source checkout with: pip install -e '.[llama-index]'"
    ) from e

from rabbit_rag.integrations.llama_index.embedding import RabbitEmbedding
from rabbit_rag.integrations.llama_index.llm import RabbitLLM
from rabbit_rag.integrations.llama_index.nodes import chunk_to_node, index_nodes, node_to_chunk
from rabbit_rag.integrations.llama_index.query_engine import RabbitQueryEngine
from rabbit_rag.integrations.llama_index.retrievers import LlamaIndexRetriever, RabbitRetriever, vector_index
from rabbit_rag.integrations.llama_index.splitter import KiwiSentenceSplitter

__all__ = [
    "KiwiSentenceSplitter",
    "LlamaIndexRetriever",
    "RabbitEmbedding",
    "RabbitLLM",
    "RabbitQueryEngine",
    "RabbitRetriever",
    "chunk_to_node",
    "index_nodes",
    "node_to_chunk",
    "vector_index",
]
