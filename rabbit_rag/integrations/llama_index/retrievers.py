"""Retrievers both ways: ours inside llama-index, llama-index's (any vector store) inside ours.

예::

    # our Kiwi BM25 as a llama-index retriever
    bm25 = RabbitRetriever.from_index("indexes/헌법", mode="bm25", k=5)
    bm25.retrieve("국회의원의 임기는?")[0].node.metadata["source"]      # 'constitution.txt'

    # a llama-index vector store as the dense side of our hybrid retriever
    vindex = vector_index("indexes/헌법", embed_model=RabbitEmbedding("nlpai-lab/KURE-v1"))
    hybrid = RabbitRetriever.hybrid("indexes/헌법", dense=vindex, k=5)
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from llama_index.core.base.base_retriever import BaseRetriever
from llama_index.core.callbacks import CallbackManager
from llama_index.core.indices.base import BaseIndex
from llama_index.core.schema import NodeWithScore, QueryBundle

from rabbit_rag.errors import InvalidInputError
from rabbit_rag.index import SearchFilter, open_index
from rabbit_rag.integrations.llama_index.embedding import RabbitEmbedding
from rabbit_rag.integrations.llama_index.nodes import chunk_to_node, index_nodes, node_to_chunk
from rabbit_rag.retrieval import BM25Retriever, HybridRetriever, Retriever, check_query, make_retriever
from rabbit_rag.types import Fusion, ScoredChunk

if TYPE_CHECKING:
    from llama_index.core import StorageContext, VectorStoreIndex
    from llama_index.core.base.embeddings.base import BaseEmbedding
    from llama_index.core.vector_stores.types import BasePydanticVectorStore

    from rabbit_rag.index import Index, SearchFilter


def _open(index: Index | str | Path) -> Index:

    return open_index(index) if isinstance(index, str | Path) else index


def hits_to_nodes(hits: Sequence[ScoredChunk]) -> list[NodeWithScore]:
    """Our hits as llama-index ``NodeWithScore`` (best first; the fused score as ``score``)."""
    return [NodeWithScore(node=chunk_to_node(h.chunk), score=float(h.score)) for h in hits]


class RabbitRetriever(BaseRetriever):
    """Any rabbit-rag retriever (BM25, dense, hybrid, or your own) as a llama-index ``BaseRetriever``.

    Returns the top ``k`` chunks as ``TextNode``\\ s with our metadata and offsets; ``source`` /
    ``doc_id`` restrict the search as in :meth:`rabbit_rag.index.Index.search`.
    """

    def __init__(
        self,
        retriever: Retriever,
        k: int = 5,
        *,
        source: str | Sequence[str] | None = None,
        doc_id: str | Sequence[str] | None = None,
        callback_manager: CallbackManager | None = None,
        verbose: bool = False,
    ) -> None:

        if k < 1:
            raise InvalidInputError(f"k={k}: ask for at least one result")
        self.retriever = retriever
        self.k = k
        self.filters: SearchFilter | None = SearchFilter.of(source, doc_id)
        super().__init__(callback_manager=callback_manager, verbose=verbose)

    @classmethod
    def from_index(cls, index: Index | str | Path, mode: str = "hybrid", k: int = 5, **kwargs: Any) -> RabbitRetriever:
        """The ``mode`` retriever (``hybrid``, ``bm25`` or ``dense``) of an index or index folder;
        hybrid and dense fall back to BM25, with a notice, when the index has no usable vectors.

        예: ``RabbitRetriever.from_index("indexes/헌법", mode="bm25", k=3)``
        """

        return cls(make_retriever(_open(index), mode), k, **kwargs)

    @classmethod
    def bm25(cls, index: Index | str | Path, k: int = 5, **kwargs: Any) -> RabbitRetriever:
        """Kiwi BM25 over an index."""

        return cls(BM25Retriever(_open(index)), k, **kwargs)

    @classmethod
    def hybrid(
        cls,
        index: Index | str | Path,
        k: int = 5,
        *,
        dense: Retriever | BaseRetriever | BaseIndex | None = None,
        weights: Sequence[float] = (1.0, 1.0),
        fusion: Fusion = "rrf",
        **kwargs: Any,
    ) -> RabbitRetriever:
        """BM25 fused with a dense retriever: the index's own FAISS vectors, or ``dense`` — e.g. a
        llama-index ``VectorStoreIndex`` on any vector store (see :func:`vector_index`)."""

        idx = _open(index)
        if dense is None:
            return cls(make_retriever(idx, "hybrid", weights=(weights[0], weights[1]), fusion=fusion), k, **kwargs)
        if isinstance(dense, BaseRetriever | BaseIndex):
            dense = LlamaIndexRetriever(dense)
        return cls(HybridRetriever([BM25Retriever(idx), dense], weights=list(weights), fusion=fusion), k, **kwargs)

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        return hits_to_nodes(self.retriever.retrieve(query_bundle.query_str, self.k, self.filters))


class LlamaIndexRetriever:
    """A llama-index retriever — or a ``VectorStoreIndex`` on any vector store — as a rabbit-rag
    :class:`~rabbit_rag.retrieval.Retriever`, so our engine and hybrid fusion can use it.

    Given an index, each search asks it for exactly ``k`` results (more when filtering); given a
    retriever, its own top-k applies and the results are cut to ``k``. ``source`` / ``doc_id``
    filters are applied to the nodes' metadata after retrieval. Nodes made by :func:`chunk_to_node`
    keep our chunk ids and offsets; other nodes are mapped by :func:`node_to_chunk`.

    예::

        dense = LlamaIndexRetriever(vindex)                   # a VectorStoreIndex
        engine = Engine(HybridRetriever([BM25Retriever(index), dense]), ExtractiveGenerator())
    """

    def __init__(self, source: BaseRetriever | BaseIndex, name: str = "dense", overfetch: int = 4) -> None:
        if not isinstance(source, BaseRetriever | BaseIndex):
            raise InvalidInputError(
                f"LlamaIndexRetriever takes a llama-index BaseRetriever or index, not {type(source).__name__}"
            )
        self.source = source
        self.name = name
        self.overfetch = overfetch

    def retrieve(self, query: str, k: int, filters: SearchFilter | None = None) -> list[ScoredChunk]:
        query = check_query(query, k)
        n = k if filters is None else max(k * self.overfetch, 20)
        retriever = self.source.as_retriever(similarity_top_k=n) if isinstance(self.source, BaseIndex) else self.source
        out: list[ScoredChunk] = []
        for nws in retriever.retrieve(query):
            chunk = node_to_chunk(nws.node)
            if filters is not None and not _passes(filters, chunk.doc_id, chunk.source):
                continue
            score = float(nws.score) if nws.score is not None else 0.0
            out.append(ScoredChunk(chunk, score, {self.name: score}))
            if len(out) == k:
                break
        return out


def _passes(filters: SearchFilter, doc_id: str, source: str) -> bool:
    if filters.doc_ids is not None and doc_id not in filters.doc_ids:
        return False
    match = filters.source_match()
    return match is None or match(source)


def vector_index(
    index: Index | str | Path,
    embed_model: BaseEmbedding | None = None,
    *,
    vector_store: BasePydanticVectorStore | None = None,
    storage_context: StorageContext | None = None,
    reuse_vectors: bool = True,
    show_progress: bool = False,
) -> VectorStoreIndex:
    """A llama-index ``VectorStoreIndex`` over the chunks of a rabbit-rag index, on ``vector_store``
    (an in-memory ``SimpleVectorStore`` by default; any llama-index vector store — FAISS, Qdrant,
    pgvector, … — to move a collection to an external vector database).

    ``embed_model`` defaults to the index's own embedding model; when it is that model and
    ``reuse_vectors`` is true, the vectors the index stores are copied instead of computed again.

    예::

        vindex = vector_index("indexes/헌법")                               # the index's own model
        vindex = vector_index("indexes/헌법", RabbitEmbedding("dragonkue/BGE-m3-ko"))
    """
    from llama_index.core import StorageContext, VectorStoreIndex
    from llama_index.core.vector_stores import SimpleVectorStore

    idx = _open(index)
    if embed_model is None:
        reason = idx.dense_unavailable_reason()
        embedder = idx.embedder() if reason is None else None
        if embedder is None:
            raise InvalidInputError(
                f"{idx.path}: no embedding model to build a vector index with ({reason}); pass "
                "embed_model=RabbitEmbedding('<model id or folder>') or another llama-index embedding"
            )
        embed_model = RabbitEmbedding(embedder)
    same_model = idx.embed_model is not None and getattr(embed_model, "model_name", None) == idx.embed_model
    nodes = index_nodes(idx, embeddings=reuse_vectors and same_model)
    if storage_context is None:
        storage_context = StorageContext.from_defaults(vector_store=vector_store or SimpleVectorStore())
    return VectorStoreIndex(
        nodes, storage_context=storage_context, embed_model=embed_model, show_progress=show_progress
    )
