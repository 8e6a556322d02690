"""RabbitQueryEngine and the other direction: llama-index vector stores as our engine's dense backend."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rabbit_rag.engine import Engine
from rabbit_rag.errors import InvalidInputError
from rabbit_rag.generators.extractive import ExtractiveGenerator
from rabbit_rag.index import open_index
from rabbit_rag.retrieval import BM25Retriever, DenseRetriever, HybridRetriever
from rabbit_rag.text.normalize import normalize_text
from tests.conftest import LLAMA_SCRIPT, SAMPLES, OnFirstUse

li = OnFirstUse("llama_index.core")
li_response = OnFirstUse("llama_index.core.base.response.schema")
li_ingestion = OnFirstUse("llama_index.core.ingestion")
li_schema = OnFirstUse("llama_index.core.schema")
li_vector_stores = OnFirstUse("llama_index.core.vector_stores")
rli = OnFirstUse("rabbit_rag.integrations.llama_index")

QUESTION = "국회의원의 임기는?"
CITATION_KEYS = {"n", "chunk_id", "doc_id", "source", "page", "start", "end", "quote"}


def check_citations(response, texts) -> None:
    """Every citation is a source node, with its exact characters; ``texts(doc_id)`` gives the text."""
    cites = response.metadata["citations"]
    assert cites
    for c in cites:
        assert set(c) == CITATION_KEYS
        assert texts(c["doc_id"])[c["start"] : c["end"]] == c["quote"]
        chunk = rli.node_to_chunk(response.source_nodes[c["n"] - 1].node)
        assert (chunk.chunk_id, chunk.doc_id) == (c["chunk_id"], c["doc_id"])
        assert chunk.start <= c["start"] < c["end"] <= chunk.end


def test_query_engine_response(sample_index_ro: Path) -> None:
    qe = rli.RabbitQueryEngine.from_index(sample_index_ro, "extractive", mode="bm25", k=4)
    r = qe.query(QUESTION)
    assert isinstance(r, li_response.Response)
    assert str(r) == "국회의원의 임기는 4년으로 한다. [1]"
    assert r.metadata["generator"] == "extractive"
    assert r.metadata["citations"][0]["quote"] == "제42조 국회의원의 임기는 4년으로 한다."
    assert len(r.source_nodes) == 4
    assert r.source_nodes[0].node.metadata["chunk_id"] == r.metadata["citations"][0]["chunk_id"]
    check_citations(r, open_index(sample_index_ro).document_text)
    assert [n.node.node_id for n in qe.retrieve(li_schema.QueryBundle(QUESTION))] == [
        n.node.node_id for n in r.source_nodes
    ]


def test_query_engine_streaming(sample_index_ro: Path) -> None:
    qe = rli.RabbitQueryEngine.from_index(sample_index_ro, "extractive", mode="bm25", k=3, streaming=True)
    r = qe.query(QUESTION)
    assert isinstance(r, li_response.StreamingResponse)
    assert len(r.source_nodes) == 3 and r.metadata["citations"] == []  # sources first, citations at the end
    text = "".join(r.response_gen)
    assert text == "국회의원의 임기는 4년으로 한다. [1]"
    assert r.metadata["citations"][0]["quote"] == "제42조 국회의원의 임기는 4년으로 한다."
    assert r.metadata["timings"]["retrieve_ms"] >= 0
    # llama-index's own helpers over the stream
    again = qe.query(QUESTION).get_response()
    assert isinstance(again, li_response.Response) and str(again) == text and again.metadata["citations"]


def test_query_engine_with_a_chat_model(sample_index_ro: Path, tiny_llama: Path) -> None:
    qe = rli.RabbitQueryEngine.from_index(sample_index_ro, "transformers", mode="bm25", k=3, model=str(tiny_llama))
    r = qe.query(QUESTION)
    assert str(r) == LLAMA_SCRIPT
    assert r.metadata["generator"].startswith("transformers:")
    check_citations(r, open_index(sample_index_ro).document_text)


def test_bad_question(sample_index_ro: Path) -> None:
    qe = rli.RabbitQueryEngine.from_index(sample_index_ro, "extractive", mode="bm25")
    with pytest.raises(InvalidInputError):
        qe.query("   ")
    with pytest.raises(InvalidInputError):
        rli.RabbitQueryEngine.from_index(sample_index_ro, "extractive", mode="bm25", streaming=True).query("")


def test_vector_index_reuses_the_index_vectors(dense_sample_index: Path) -> None:
    """A llama-index VectorStoreIndex on SimpleVectorStore built from our index: same vectors, same
    ranking as our FAISS dense retriever."""
    index = open_index(dense_sample_index)
    nodes = rli.index_nodes(index)
    assert len(nodes) == len(index) and all(n.embedding is not None for n in nodes)
    vindex = rli.vector_index(index)  # the index's own (tiny) model, vectors copied, not recomputed
    ours = DenseRetriever(index).retrieve(QUESTION, 5)
    theirs = rli.LlamaIndexRetriever(vindex).retrieve(QUESTION, 5)
    assert [h.chunk.chunk_id for h in theirs] == [h.chunk.chunk_id for h in ours]
    assert [h.score for h in theirs] == pytest.approx([h.score for h in ours], abs=2e-3)
    assert theirs[0].chunk == ours[0].chunk


def test_engine_with_a_llama_index_dense_backend(dense_sample_index: Path, tiny_embedder) -> None:
    """Our engine, hybrid = Kiwi BM25 + a llama-index vector store, answering with exact citations."""
    index = open_index(dense_sample_index)
    vindex = rli.vector_index(
        index, rli.RabbitEmbedding(tiny_embedder), vector_store=li_vector_stores.SimpleVectorStore()
    )
    hybrid = HybridRetriever([BM25Retriever(index), rli.LlamaIndexRetriever(vindex)])
    engine = Engine(hybrid, ExtractiveGenerator(), k=4)
    answer = engine.ask(QUESTION)
    assert answer.text == "국회의원의 임기는 4년으로 한다. [1]"
    for c in answer.citations:
        assert index.document_text(c.doc_id)[c.start : c.end] == c.quote
    assert any("dense" in s.scores for s in answer.sources)  # the vector store took part

    # the same through llama-index's interface
    qe = rli.RabbitQueryEngine(engine)
    r = qe.query(QUESTION)
    check_citations(r, index.document_text)
    hits = rli.RabbitRetriever.hybrid(index, dense=vindex, k=4).retrieve(QUESTION)
    assert [h.node.metadata["chunk_id"] for h in hits] == [s.chunk.chunk_id for s in answer.sources]


def test_llama_index_filters_are_applied(dense_sample_index: Path) -> None:
    from rabbit_rag.index import SearchFilter

    vindex = rli.vector_index(dense_sample_index)
    hits = rli.LlamaIndexRetriever(vindex).retrieve(QUESTION, 4, SearchFilter(sources=["kobill/*"]))
    assert len(hits) == 4 and all("kobill/" in h.chunk.source for h in hits)


def test_vector_index_needs_a_model(sample_index_ro: Path) -> None:
    with pytest.raises(InvalidInputError, match="embed_model"):
        rli.vector_index(sample_index_ro)


def test_documents_never_in_our_index(tiny_embedder) -> None:
    """A pure llama-index collection (our splitter and embedder, SimpleVectorStore) answered by our
    engine: the citations point into the llama-index documents' own text."""
    docs = [
        li.Document(text=normalize_text(p.read_text(encoding="utf-8")), metadata={"file_name": p.name})
        for p in [SAMPLES / "constitution.txt", *sorted((SAMPLES / "kobill").glob("*.txt"))[:2]]
    ]
    embed = rli.RabbitEmbedding(tiny_embedder)
    nodes = li_ingestion.IngestionPipeline(transformations=[rli.KiwiSentenceSplitter(max_tokens=128), embed]).run(
        documents=docs
    )
    store = li_vector_stores.SimpleVectorStore()
    vindex = li.VectorStoreIndex(
        nodes, embed_model=embed, storage_context=li.StorageContext.from_defaults(vector_store=store)
    )
    # The tiny embedding model is random, so its ranking means nothing: retrieve every node and let
    # the extractive answerer find the sentence; what is checked is the path and the offsets.
    qe = rli.RabbitQueryEngine.from_retriever(vindex, "extractive", k=len(nodes))
    r = qe.query(QUESTION)
    assert "국회의원의 임기" in str(r)  # which sentence wins depends on the (random) ranking too
    assert len(r.source_nodes) == len(nodes)
    by_id = {d.doc_id: d.text for d in docs}
    check_citations(r, by_id.__getitem__)
    assert r.metadata["citations"][0]["source"] == "constitution.txt"
    assert all(np.isfinite(n.score) for n in r.source_nodes)
