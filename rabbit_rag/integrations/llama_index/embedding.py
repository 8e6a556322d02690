"""``RabbitEmbedding``: a rabbit-rag embedder (sentence-transformers, query/document prompts, unit
vectors) as a llama-index ``BaseEmbedding``.

예::

    embed_model = RabbitEmbedding("nlpai-lab/KURE-v1")      # or an Embedder, or a local folder
    index = VectorStoreIndex(nodes, embed_model=embed_model)
"""

from __future__ import annotations

from typing import Any

from llama_index.core.base.embeddings.base import BaseEmbedding, Embedding
from llama_index.core.bridge.pydantic import PrivateAttr

from rabbit_rag.embeddings import Embedder, load_embedder


class RabbitEmbedding(BaseEmbedding):
    """Wraps an :class:`~rabbit_rag.embeddings.Embedder` (or loads one by model id / folder).

    Queries go through ``embed_query`` (the model's query prompt, when it has one), passages through
    ``embed``; vectors are unit length, so llama-index's cosine and dot-product agree.
    """

    _embedder: Embedder = PrivateAttr()

    def __init__(self, embedder: Embedder | str, *, embed_batch_size: int = 32, **kwargs: Any) -> None:
        if isinstance(embedder, str):
            embedder = load_embedder(embedder, batch_size=embed_batch_size)
        super().__init__(model_name=embedder.model_id, embed_batch_size=embed_batch_size, **kwargs)
        self._embedder = embedder

    @classmethod
    def class_name(cls) -> str:
        return "RabbitEmbedding"

    @property
    def embedder(self) -> Embedder:
        """The wrapped rabbit-rag embedder."""
        return self._embedder

    def _get_query_embedding(self, query: str) -> Embedding:
        return self._embedder.embed_query(query).tolist()

    async def _aget_query_embedding(self, query: str) -> Embedding:
        return self._get_query_embedding(query)

    def _get_text_embedding(self, text: str) -> Embedding:
        return self._embedder.embed([text])[0].tolist()

    async def _aget_text_embedding(self, text: str) -> Embedding:
        return self._get_text_embedding(text)

    def _get_text_embeddings(self, texts: list[str]) -> list[Embedding]:
        return self._embedder.embed(texts).tolist()

    async def _aget_text_embeddings(self, texts: list[str]) -> list[Embedding]:
        return self._get_text_embeddings(texts)
