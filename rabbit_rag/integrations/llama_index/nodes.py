"""Chunks ↔ llama-index nodes, keeping the offsets contract on both sides.

A node made from a chunk carries the chunk's offsets twice: as llama-index's ``start_char_idx`` /
``end_char_idx`` and as ``start`` / ``end`` metadata (with ``chunk_id``, ``doc_id``, ``source`` and,
for paged documents, ``page``), so the metadata survives a vector store that keeps only metadata.
Metadata values are never None (several vector databases reject None), so ``page`` is simply absent
for documents without pages.

예::

    node = chunk_to_node(chunk)
    node.metadata["source"], node.start_char_idx     # ('constitution.txt', 1520)
    node_to_chunk(node) == chunk                     # True
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from llama_index.core.schema import BaseNode, MetadataMode, NodeRelationship, RelatedNodeInfo, TextNode

from rabbit_rag.index import Index, open_index
from rabbit_rag.types import Chunk

if TYPE_CHECKING:
    from rabbit_rag.index import Index

#: Metadata a language model does not need to read (offsets and ids); the source and page stay.
LLM_HIDDEN_KEYS = ["chunk_id", "doc_id", "start", "end", "section", "title"]


def node_id_for(chunk: Chunk) -> str:
    """The node id of a chunk: stable for the chunk, unique across indexes of different documents."""
    return f"{chunk.doc_id}:{chunk.chunk_id}"


def chunk_metadata(chunk: Chunk) -> dict[str, Any]:
    """The node metadata of a chunk (None values left out)."""
    meta: dict[str, Any] = {
        "chunk_id": chunk.chunk_id,
        "doc_id": chunk.doc_id,
        "source": chunk.source,
        "page": chunk.page,
        "start": chunk.start,
        "end": chunk.end,
        "section": chunk.section,
        "title": chunk.title,
    }
    return {k: v for k, v in meta.items() if v is not None}


def chunk_to_node(chunk: Chunk, embedding: list[float] | None = None) -> TextNode:
    """A llama-index ``TextNode`` for ``chunk``.

    The node is the same whichever retriever found it (per-retriever scores are not put in its
    metadata), so llama-index recognises one chunk found by two retrievers as one node — its
    ``QueryFusionRetriever`` deduplicates by the node's text and metadata.
    """
    meta = chunk_metadata(chunk)
    return TextNode(
        id_=node_id_for(chunk),
        text=chunk.text,
        metadata=meta,
        start_char_idx=chunk.start,
        end_char_idx=chunk.end,
        embedding=embedding,
        # the vectors are of the passage alone, like the index's own
        excluded_embed_metadata_keys=list(meta),
        excluded_llm_metadata_keys=[k for k in meta if k in LLM_HIDDEN_KEYS],
        relationships={
            NodeRelationship.SOURCE: RelatedNodeInfo(node_id=chunk.doc_id, metadata={"source": chunk.source})
        },
    )


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _stable_int(text: str) -> int:
    """A positive 56-bit integer from a string (chunk ids are SQLite integers)."""
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=7).digest(), "big")


def node_to_chunk(node: BaseNode) -> Chunk:
    """The :class:`~rabbit_rag.types.Chunk` behind a node.

    Nodes made by :func:`chunk_to_node` give back their chunk exactly. Any other node works too:
    ``doc_id`` is its source document's id, offsets are ``start_char_idx``/``end_char_idx`` (0 and the
    text length when unknown), ``source`` is the ``source``, ``file_name`` or ``file_path`` metadata, and
    ``chunk_id`` a stable number derived from the node id.
    """
    meta = node.metadata or {}
    text = node.get_content(metadata_mode=MetadataMode.NONE)
    doc_id = str(meta.get("doc_id") or node.ref_doc_id or node.node_id)
    start = _int(meta.get("start"))
    if start is None:
        start = node.start_char_idx if isinstance(node, TextNode) and node.start_char_idx is not None else 0
    end = _int(meta.get("end"))
    if end is None:
        end = start + len(text)
    chunk_id = _int(meta.get("chunk_id"))
    source = meta.get("source") or meta.get("file_name") or meta.get("file_path") or doc_id
    page = _int(meta.get("page")) if meta.get("page") is not None else _int(meta.get("page_label"))
    return Chunk(
        chunk_id=chunk_id if chunk_id is not None else _stable_int(node.node_id),
        doc_id=doc_id,
        source=str(source),
        start=start,
        end=end,
        text=text,
        page=page,
        section=meta.get("section"),
        title=meta.get("title"),
    )


def iter_index_nodes(index: Index, *, embeddings: bool = True, batch: int = 1000) -> Iterator[TextNode]:
    """Every live chunk of ``index`` as a node, in chunk-id order; with ``embeddings`` the vectors the
    index stores are attached (no re-embedding), when it has any."""
    ids = [int(i) for i in index.chunk_ids()]
    vectors = dict(index.stored_vectors()) if embeddings else {}
    for i in range(0, len(ids), batch):
        for chunk in index.chunks(ids[i : i + batch]):
            vec = vectors.get(chunk.chunk_id)
            yield chunk_to_node(chunk, embedding=None if vec is None else vec.tolist())


def index_nodes(index: Index | str | Path, *, embeddings: bool = True) -> list[TextNode]:
    """:func:`iter_index_nodes` as a list; ``index`` may be an index folder.

    예: ``nodes = index_nodes("indexes/헌법")`` → ``[TextNode(id_='…:1', text='대한민국헌법 …'), …]``
    """

    idx = index if isinstance(index, Index) else open_index(index)
    return list(iter_index_nodes(idx, embeddings=embeddings))
