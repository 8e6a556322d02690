"""``KiwiSentenceSplitter``: rabbit-rag's Kiwi sentence chunker as a llama-index ``TextSplitter``.

The nodes are the chunks :class:`~rabbit_rag.text.chunker.KiwiChunker` makes for our own index — whole Kiwi
sentences packed up to a token budget, neighbours sharing ``overlap_sentences`` sentences, never
crossing an article heading (제N조) — and they carry exact offsets into the text they were cut from:
``document.text[node.start_char_idx:node.end_char_idx] == node.text``.

Offsets are into the text as given. Normalize Korean text first (NFC; macOS and some PDFs give NFD)
with :func:`rabbit_rag.text.normalize_text` — Kiwi reads decomposed syllables poorly, and normalizing
afterwards would move the offsets.

예::

    from llama_index.core import Document
    from rabbit_rag.text.normalize import normalize_text

    doc = Document(text=normalize_text(open("samples/constitution.txt", encoding="utf-8").read()))
    nodes = KiwiSentenceSplitter(chunk_tokens=128).get_nodes_from_documents([doc])
    doc.text[nodes[0].start_char_idx : nodes[0].end_char_idx] == nodes[0].text   # True
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from llama_index.core.bridge.pydantic import Field, PrivateAttr
from llama_index.core.node_parser import TextSplitter
from llama_index.core.node_parser.node_utils import build_nodes_from_splits
from llama_index.core.schema import BaseNode, Document, MetadataMode, TextNode
from llama_index.core.utils import get_tqdm_iterable

from rabbit_rag.text.chunker import KiwiChunker
from rabbit_rag.types import Document as RabbitDocument


class KiwiSentenceSplitter(TextSplitter):
    """Splits text on Kiwi sentence boundaries into chunks of at most ``chunk_tokens`` tokens.

    ``count_tokens`` (e.g. an embedder's ``count_tokens``) counts the budget in a model's tokens;
    without it the budget is in Kiwi morphemes, close to subword tokens for Korean. Each node gets a
    ``section`` metadata entry when the chunk lies under a detected heading.
    """

    chunk_tokens: int = Field(default=256, description="Token budget of one chunk.", ge=8)
    overlap_sentences: int = Field(default=1, description="Whole sentences neighbouring chunks share.", ge=0)
    _count_tokens: Callable[[Sequence[str]], list[int]] | None = PrivateAttr(default=None)

    def __init__(
        self,
        chunk_tokens: int = 256,
        overlap_sentences: int = 1,
        count_tokens: Callable[[Sequence[str]], list[int]] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(chunk_tokens=chunk_tokens, overlap_sentences=overlap_sentences, **kwargs)
        self._count_tokens = count_tokens

    @classmethod
    def class_name(cls) -> str:
        return "KiwiSentenceSplitter"

    def _chunker(self) -> Any:

        return KiwiChunker(self.chunk_tokens, self.overlap_sentences, count_tokens=self._count_tokens)

    def split_text(self, text: str) -> list[str]:
        """The chunk texts of ``text``.

        예: ``KiwiSentenceSplitter().split_text("대한민국은 민주공화국이다. 주권은 국민에게 있다.")``
        """
        if not text.strip():
            return []
        spans = self._chunker().chunk(RabbitDocument(source="text", text=text))
        return [text[s.start : s.end] for s in spans]

    def split_texts(self, texts: list[str]) -> list[str]:
        return [piece for spans, text in zip(self._spans(texts), texts, strict=True) for piece in _cut(text, spans)]

    def _spans(self, texts: Sequence[str]) -> list[list[Any]]:
        """Chunk spans of every text, analyzed in one streamed Kiwi batch."""
        out: list[list[Any]] = [[] for _ in texts]
        docs = [RabbitDocument(source=str(i), text=t) if t.strip() else None for i, t in enumerate(texts)]
        for batch in self._chunker().chunk_stream(range(len(texts)), lambda i: docs[i]):
            out[batch.item].extend(batch.spans)
        return out

    def _parse_nodes(self, nodes: Sequence[BaseNode], show_progress: bool = False, **kwargs: Any) -> list[BaseNode]:
        texts = [node.get_content(metadata_mode=MetadataMode.NONE) for node in nodes]
        all_spans = self._spans(texts)
        out: list[BaseNode] = []
        for node, text, spans in get_tqdm_iterable(
            list(zip(nodes, texts, all_spans, strict=True)), show_progress, "Parsing nodes"
        ):
            built = build_nodes_from_splits(_cut(text, spans), node, id_func=self.id_func)
            for child, span in zip(built, spans, strict=True):
                child.start_char_idx, child.end_char_idx = span.start, span.end
                if span.section:
                    child.metadata["section"] = span.section
            out.extend(built)
        return out

    def _postprocess_parsed_nodes(self, nodes: list[BaseNode], parent_doc_map: dict[str, Document]) -> list[BaseNode]:
        # llama-index re-derives offsets by searching each node's text in its document, which lands on
        # an earlier copy of repeated text (a repeated clause, an overlapping chunk); ours are exact.
        exact = [(n.start_char_idx, n.end_char_idx) if isinstance(n, TextNode) else None for n in nodes]
        nodes = super()._postprocess_parsed_nodes(nodes, parent_doc_map)
        for node, offsets in zip(nodes, exact, strict=True):
            if offsets is not None and isinstance(node, TextNode):
                node.start_char_idx, node.end_char_idx = offsets
        return nodes


def _cut(text: str, spans: Sequence[Any]) -> list[str]:
    return [text[s.start : s.end] for s in spans]
