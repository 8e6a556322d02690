"""Our retrievers inside llama-index: RetrieverQueryEngine, QueryFusionRetriever, node metadata."""

from __future__ import annotations

from pathlib import Path

import pytest

from rabbit_rag.errors import InvalidInputError
from rabbit_rag.index import open_index
from rabbit_rag.retrieval import BM25Retriever
from tests.conftest import OnFirstUse

li_schema = OnFirstUse("llama_index.core.schema")
li_query_engine = OnFirstUse("llama_index.core.query_engine")
li_retrievers = OnFirstUse("llama_index.core.retrievers")
rli = OnFirstUse("rabbit_rag.integrations.llama_index")

QUESTION = "국회의원의 임기는?"


def test_bm25_nodes_carry_our_metadata_and_offsets(sample_index_ro: Path) -> None:
    index = open_index(sample_index_ro)
    retriever = rli.RabbitRetriever.from_index(index, mode="bm25", k=4)
    hits = retriever.retrieve(QUESTION)
    assert len(hits) == 4
    ours = BM25Retriever(index).retrieve(QUESTION, 4)
    assert [h.node.metadata["chunk_id"] for h in hits] == [h.chunk.chunk_id for h in ours]
    assert [h.score for h in hits] == pytest.approx([h.score for h in ours])
    top = hits[0].node
    assert "국회의원의 임기는 4년" in top.text
    for h in hits:
        m = h.node.metadata
        assert {"chunk_id", "doc_id", "source", "start", "end"} <= set(m)
        assert (h.node.start_char_idx, h.node.end_char_idx) == (m["start"], m["end"])
        assert index.document_text(m["doc_id"])[m["start"] : m["end"]] == h.node.text
        assert h.node.ref_doc_id == m["doc_id"]
        # the model reads the source, not ids and offsets; the vectors are of the passage alone
        llm_view = h.node.get_content(metadata_mode=li_schema.MetadataMode.LLM)
        assert "source: " in llm_view and "chunk_id" not in llm_view and "start: " not in llm_view
        assert h.node.get_content(metadata_mode=li_schema.MetadataMode.EMBED) == h.node.text


def test_source_filter_and_bad_k(sample_index_ro: Path) -> None:
    retriever = rli.RabbitRetriever.bm25(sample_index_ro, k=5, source="kobill/*")
    hits = retriever.retrieve("육아휴직")
    assert hits and all("kobill/" in h.node.metadata["source"] for h in hits)
    with pytest.raises(InvalidInputError):
        rli.RabbitRetriever.bm25(sample_index_ro, k=0)


def test_hybrid_falls_back_to_bm25_without_vectors(sample_index_ro: Path, capsys: pytest.CaptureFixture) -> None:
    hits = rli.RabbitRetriever.hybrid(sample_index_ro, k=3).retrieve(QUESTION)
    assert "국회의원의 임기는 4년" in hits[0].node.text
    assert "BM25 only" in capsys.readouterr().err  # the fallback says so


def test_hybrid_over_index_vectors(dense_sample_index: Path) -> None:
    from rabbit_rag.retrieval import make_retriever

    index = open_index(dense_sample_index)
    hits = rli.RabbitRetriever.from_index(index, mode="hybrid", k=5).retrieve(QUESTION)
    ours = make_retriever(index, "hybrid").retrieve(QUESTION, 5)
    assert [h.node.metadata["chunk_id"] for h in hits] == [h.chunk.chunk_id for h in ours]
    assert [h.score for h in hits] == pytest.approx([h.score for h in ours])
    assert any(len(h.scores) == 2 for h in ours), "some hits are found by both sides"


def test_chunk_node_round_trip(sample_index_ro: Path) -> None:
    index = open_index(sample_index_ro)
    chunk = index.chunks([int(index.chunk_ids()[5])])[0]
    assert rli.node_to_chunk(rli.chunk_to_node(chunk)) == chunk
    nodes = rli.index_nodes(index)
    assert len(nodes) == len(index) and all(n.embedding is None for n in nodes)  # BM25-only: no vectors


def test_retriever_query_engine_with_extractive_llm(sample_index_ro: Path) -> None:
    """Our BM25 retriever and our extractive answerer in llama-index's own RetrieverQueryEngine."""
    retriever = rli.RabbitRetriever.bm25(sample_index_ro, k=3)
    engine = li_query_engine.RetrieverQueryEngine.from_args(retriever, llm=rli.RabbitLLM("extractive"))
    response = engine.query(QUESTION)
    assert str(response) == "국회의원의 임기는 4년으로 한다."
    assert len(response.source_nodes) == 3
    assert response.source_nodes[0].node.metadata["source"].endswith("constitution.txt")

    streaming = li_query_engine.RetrieverQueryEngine.from_args(
        retriever, llm=rli.RabbitLLM("extractive"), streaming=True
    )
    assert "".join(streaming.query(QUESTION).response_gen) == "국회의원의 임기는 4년으로 한다."


@pytest.mark.parametrize("mode", ["compact", "refine", "tree_summarize"])
def test_response_modes(sample_index_ro: Path, mode: str) -> None:
    retriever = rli.RabbitRetriever.bm25(sample_index_ro, k=3)
    engine = li_query_engine.RetrieverQueryEngine.from_args(
        retriever, llm=rli.RabbitLLM("extractive"), response_mode=mode
    )
    assert "4년" in str(engine.query(QUESTION))


def test_retriever_query_engine_with_a_chat_model(sample_index_ro: Path, tiny_llama: Path) -> None:
    """The same engine answering with a real (tiny, scripted) Llama 3 chat model."""
    from tests.conftest import LLAMA_SCRIPT

    llm = rli.RabbitLLM("transformers", model=str(tiny_llama))
    assert llm.metadata.is_chat_model and llm.model_name.startswith("transformers:")
    engine = li_query_engine.RetrieverQueryEngine.from_args(rli.RabbitRetriever.bm25(sample_index_ro, k=2), llm=llm)
    response = engine.query(QUESTION)
    assert str(response) == LLAMA_SCRIPT
    assert len(response.source_nodes) == 2


def test_query_fusion_of_bm25_and_a_llama_index_vector_store(dense_sample_index: Path) -> None:
    """llama-index's QueryFusionRetriever fusing our BM25 with a VectorStoreIndex built from the same
    index (its stored vectors reused)."""
    bm25 = rli.RabbitRetriever.bm25(dense_sample_index, k=5)
    vindex = rli.vector_index(dense_sample_index)
    dense = vindex.as_retriever(similarity_top_k=5)
    fusion = li_retrievers.QueryFusionRetriever(
        [bm25, dense], llm=rli.RabbitLLM("extractive"), num_queries=1, mode="reciprocal_rerank",
        similarity_top_k=5, use_async=False,
    )  # fmt: skip
    hits = fusion.retrieve(QUESTION)
    assert len(hits) == 5
    bm25_ids = {h.node.node_id for h in bm25.retrieve(QUESTION)}
    dense_ids = {h.node.node_id for h in dense.retrieve(QUESTION)}
    fused_ids = {h.node.node_id for h in hits}
    assert fused_ids <= bm25_ids | dense_ids
    assert fused_ids & bm25_ids and fused_ids & dense_ids
    assert "국회의원의 임기는 4년" in hits[0].node.text  # BM25's best is still first after fusion
    assert len({h.node.node_id for h in hits}) == len(hits)


def test_query_fusion_merges_a_chunk_found_by_both(dense_sample_index: Path) -> None:
    """One chunk found by BM25 and by the vector store is one node to llama-index (same id, text and
    metadata), so reciprocal-rank fusion adds its two scores instead of listing it twice."""
    query = "제42조 국회의원의 임기는 4년으로 한다."  # a chunk's own text: first for both retrievers
    bm25 = rli.RabbitRetriever.bm25(dense_sample_index, k=5)
    dense = rli.vector_index(dense_sample_index).as_retriever(similarity_top_k=5)
    assert bm25.retrieve(query)[0].node.node_id == dense.retrieve(query)[0].node.node_id
    fusion = li_retrievers.QueryFusionRetriever(
        [bm25, dense], llm=rli.RabbitLLM("extractive"), num_queries=1, mode="reciprocal_rerank", use_async=False
    )
    hits = fusion.retrieve(query)
    assert hits[0].node.text == query and hits[0].score == pytest.approx(2 / 60)
    assert [h.node.text for h in hits].count(query) == 1
    for h in hits:  # every hit, from either side, traces back to the exact characters
        m = h.node.metadata
        assert open_index(dense_sample_index).document_text(m["doc_id"])[m["start"] : m["end"]] == h.node.text


def test_query_fusion_generating_queries_with_our_llm(sample_index_ro: Path, tiny_llama: Path) -> None:
    """With num_queries=2 the fusion retriever asks the LLM (here a tiny scripted Llama through
    ``complete``) for another query and searches both."""
    from tests.conftest import LLAMA_SCRIPT

    bm25 = rli.RabbitRetriever.bm25(sample_index_ro, k=3)
    llm = rli.RabbitLLM("transformers", model=str(tiny_llama))
    fusion = li_retrievers.QueryFusionRetriever([bm25], llm=llm, num_queries=2, similarity_top_k=6, use_async=False)
    queries = fusion._get_queries("대통령의 임기")
    assert [q.query_str for q in queries] == [LLAMA_SCRIPT]
    hits = fusion.retrieve("대통령의 임기")
    texts = " ".join(h.node.text for h in hits)
    assert "국회의원의 임기는 4년" in texts and "대통령의 임기" in texts  # found for either query


def test_async_retrieve(sample_index_ro: Path) -> None:
    import asyncio

    retriever = rli.RabbitRetriever.bm25(sample_index_ro, k=2)
    hits = asyncio.run(retriever.aretrieve(li_schema.QueryBundle(QUESTION)))
    assert "국회의원의 임기는 4년" in hits[0].node.text
