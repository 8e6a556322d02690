"""KiwiSentenceSplitter: exact offsets, the same chunks as our index, inside llama-index pipelines."""

from __future__ import annotations

import itertools

import pytest

from rabbit_rag.errors import InvalidInputError
from rabbit_rag.text.chunker import KiwiChunker
from rabbit_rag.text.normalize import normalize_text
from rabbit_rag.text.sentences import split_sentences
from rabbit_rag.types import Document as RabbitDocument
from tests.conftest import SAMPLES, OnFirstUse

li = OnFirstUse("llama_index.core")
li_ingestion = OnFirstUse("llama_index.core.ingestion")
li_schema = OnFirstUse("llama_index.core.schema")
li_vector_stores = OnFirstUse("llama_index.core.vector_stores")
rli = OnFirstUse("rabbit_rag.integrations.llama_index")


def constitution() -> str:
    return normalize_text((SAMPLES / "constitution.txt").read_text(encoding="utf-8"))


def assert_offsets(doc: li.Document, nodes: list) -> None:
    assert nodes
    for node in nodes:
        assert isinstance(node, li_schema.TextNode)
        assert doc.text[node.start_char_idx : node.end_char_idx] == node.text
        assert node.get_content(metadata_mode=li_schema.MetadataMode.NONE) == node.text


@pytest.mark.parametrize("chunk_tokens", [64, 256])
def test_constitution_offsets(chunk_tokens: int) -> None:
    doc = li.Document(text=constitution(), metadata={"source": "constitution.txt"})
    nodes = rli.KiwiSentenceSplitter(chunk_tokens=chunk_tokens).get_nodes_from_documents([doc])
    assert_offsets(doc, nodes)
    assert len(nodes) > 40
    # the nodes cover the whole text, in order, every chunk starting at or after the previous one
    starts = [n.start_char_idx for n in nodes]
    assert starts == sorted(starts)
    assert doc.text[: starts[0]].strip() == ""
    assert doc.text[max(n.end_char_idx for n in nodes) :].strip() == ""
    for a, b in itertools.pairwise(nodes):
        assert doc.text[a.end_char_idx : b.start_char_idx].strip() == ""  # no text skipped between chunks
    # parent metadata and the source relationship are llama-index's usual ones
    assert all(n.metadata["source"] == "constitution.txt" and n.ref_doc_id == doc.doc_id for n in nodes)


def test_nodes_are_our_index_chunks() -> None:
    """The splitter gives exactly the chunks KiwiChunker makes for our index."""
    text = constitution()
    spans = KiwiChunker(chunk_tokens=128, overlap_sentences=1).chunk(RabbitDocument(source="c", text=text))
    nodes = rli.KiwiSentenceSplitter(chunk_tokens=128, overlap_sentences=1).get_nodes_from_documents(
        [li.Document(text=text)]
    )
    assert [(n.start_char_idx, n.end_char_idx) for n in nodes] == [(s.start, s.end) for s in spans]


def test_chunks_end_on_sentence_boundaries() -> None:
    text = constitution()
    ends = {e for _, e in split_sentences(text)}
    nodes = rli.KiwiSentenceSplitter(chunk_tokens=96).get_nodes_from_documents([li.Document(text=text)])
    on_boundary = sum(n.end_char_idx in ends for n in nodes)
    # only a sentence longer than the whole budget may be cut inside; the constitution has few
    assert on_boundary >= 0.95 * len(nodes)


def test_repeated_text_keeps_exact_offsets() -> None:
    """llama-index finds offsets by searching the text; with repeated sentences that lands on the
    first copy. Ours are the chunker's own."""
    para = "제1항 이 조항은 삭제한다. 이 조항은 삭제한다. 이 조항은 삭제한다."
    text = "\n\n".join([para] * 6)
    doc = li.Document(text=text)
    nodes = rli.KiwiSentenceSplitter(chunk_tokens=8, overlap_sentences=1).get_nodes_from_documents([doc])
    assert_offsets(doc, nodes)
    assert len({n.start_char_idx for n in nodes}) == len(nodes)  # no two nodes claim the same place
    assert nodes[-1].end_char_idx == len(text)


def test_raw_crlf_text_offsets() -> None:
    """Offsets are into the text as given (here the sample with its CRLF line ends)."""
    raw = (SAMPLES / "constitution.txt").read_bytes().decode("utf-8")
    assert "\r\n" in raw
    doc = li.Document(text=raw)
    assert_offsets(doc, rli.KiwiSentenceSplitter(chunk_tokens=128).get_nodes_from_documents([doc]))


def test_split_text_and_sections() -> None:
    sp = rli.KiwiSentenceSplitter(chunk_tokens=32)
    pieces = sp.split_text(
        "대한민국은 민주공화국이다. 대한민국의 주권은 국민에게 있고, 모든 권력은 국민으로부터 나온다."
    )
    assert pieces and all(p.strip() for p in pieces)
    assert sp.split_text("   ") == []
    assert sp.split_texts(["대한민국은 민주공화국이다.", "", "국회의원의 임기는 4년으로 한다."]) == [
        "대한민국은 민주공화국이다.",
        "국회의원의 임기는 4년으로 한다.",
    ]


def test_model_token_budget(tiny_embedder) -> None:
    text = constitution()[:6000]
    sp = rli.KiwiSentenceSplitter(chunk_tokens=64, count_tokens=tiny_embedder.count_tokens)
    nodes = sp.get_nodes_from_documents([li.Document(text=text)])
    assert_offsets(li.Document(text=text), nodes)
    assert max(tiny_embedder.count_tokens([n.text for n in nodes])) <= 64


def test_bad_budget() -> None:
    with pytest.raises((InvalidInputError, ValueError)):
        rli.KiwiSentenceSplitter(chunk_tokens=2)


def test_ingestion_pipeline_into_vector_store(tiny_embedder) -> None:
    """Our splitter and embedder in llama-index's IngestionPipeline, then a VectorStoreIndex on the
    in-memory SimpleVectorStore, searched through our retriever interface."""
    text = constitution()
    bills = sorted((SAMPLES / "kobill").glob("*.txt"))[:3]
    docs = [li.Document(text=text, metadata={"source": "constitution.txt"})] + [
        li.Document(text=normalize_text(p.read_text(encoding="utf-8")), metadata={"source": p.name}) for p in bills
    ]
    for d in docs:
        d.excluded_embed_metadata_keys = ["source"]  # embed the passage alone, so it is its own neighbour
    embed = rli.RabbitEmbedding(tiny_embedder)
    pipeline = li_ingestion.IngestionPipeline(transformations=[rli.KiwiSentenceSplitter(chunk_tokens=128), embed])
    nodes = pipeline.run(documents=docs)
    by_id = {d.doc_id: d for d in docs}
    for node in nodes:
        assert node.embedding is not None and len(node.embedding) == tiny_embedder.dim
        parent = by_id[node.ref_doc_id]
        assert parent.text[node.start_char_idx : node.end_char_idx] == node.text

    vindex = li.VectorStoreIndex(
        nodes, embed_model=embed, storage_context=_storage(li_vector_stores.SimpleVectorStore())
    )
    query = nodes[17].text  # a passage's own text is its nearest neighbour
    hits = rli.LlamaIndexRetriever(vindex).retrieve(query, k=3)
    assert hits[0].chunk.text == nodes[17].text
    assert hits[0].chunk.start == nodes[17].start_char_idx and hits[0].scores["dense"] == pytest.approx(1.0, abs=1e-4)
    assert hits[0].chunk.source in {"constitution.txt", *(p.name for p in bills)}


def _storage(store):
    from llama_index.core import StorageContext

    return StorageContext.from_defaults(vector_store=store)
