"""RabbitLLM: complete, chat and their streaming forms over a chat model and the extractive answerer."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from rabbit_rag.errors import InvalidInputError
from rabbit_rag.generators.transformers_chat import load_chat_model
from rabbit_rag.prompts import NOT_FOUND
from tests.conftest import LLAMA_SCRIPT, OnFirstUse

li_llms = OnFirstUse("llama_index.core.llms")
li_prompts = OnFirstUse("llama_index.core.prompts")
li_default_prompts = OnFirstUse("llama_index.core.prompts.default_prompts")
li_query_engine = OnFirstUse("llama_index.core.query_engine")
rli = OnFirstUse("rabbit_rag.integrations.llama_index")
rli_llm = OnFirstUse("rabbit_rag.integrations.llama_index.llm")

CONTEXT = "국회의원의 임기는 4년으로 한다.\n\n대통령의 임기는 5년으로 하며, 중임할 수 없다."


def qa_prompt(question: str, context: str = CONTEXT) -> str:
    return li_default_prompts.DEFAULT_TEXT_QA_PROMPT.format(context_str=context, query_str=question)


def test_split_prompt() -> None:
    assert rli_llm.split_prompt(qa_prompt("대통령 임기는?")) == ("대통령 임기는?", CONTEXT)
    assert rli_llm.split_prompt("안녕하세요") == ("안녕하세요", "")


def test_extractive_complete_and_stream() -> None:
    llm = rli.RabbitLLM("extractive")
    meta = llm.metadata
    assert (meta.model_name, meta.is_chat_model, meta.context_window) == ("extractive", False, 32768)
    assert llm.complete(qa_prompt("대통령의 임기는 몇 년이야?")).text == "대통령의 임기는 5년으로 하며, 중임할 수 없다."
    deltas = [r.delta for r in llm.stream_complete(qa_prompt("국회의원 임기는?"))]
    assert "".join(deltas) == "국회의원의 임기는 4년으로 한다."
    # nothing to answer from: it says so instead of inventing
    assert llm.complete("대통령의 임기는?").text == NOT_FOUND
    assert llm.complete(qa_prompt("헌법재판소 재판관의 정년은?")).text == NOT_FOUND


def test_extractive_chat_and_async() -> None:
    llm = rli.RabbitLLM("extractive")
    msgs = [li_llms.ChatMessage(role=li_llms.MessageRole.USER, content=qa_prompt("국회의원 임기는?"))]
    assert llm.chat(msgs).message.content == "국회의원의 임기는 4년으로 한다."
    assert "".join(r.delta for r in llm.stream_chat(msgs)) == "국회의원의 임기는 4년으로 한다."
    assert asyncio.run(llm.acomplete(qa_prompt("국회의원 임기는?"))).text == "국회의원의 임기는 4년으로 한다."


def test_extractive_reads_template_variables() -> None:
    """Any template works through predict/stream: the answerer reads query_str and context_str."""
    llm = rli.RabbitLLM("extractive")
    custom = li_prompts.PromptTemplate("아래 문서를 보고 답하세요.\n{context_str}\n\n물음 — {query_str}")
    assert llm.predict(custom, context_str=CONTEXT, query_str="국회의원 임기는?") == "국회의원의 임기는 4년으로 한다."
    partial = custom.partial_format(query_str="대통령 임기는?")
    assert "".join(llm.stream(partial, context_str=CONTEXT)).startswith("대통령의 임기는 5년")
    assert asyncio.run(llm.apredict(partial, context_str=CONTEXT)).startswith("대통령의 임기는 5년")
    # a template without those variables is an ordinary completion (no context: not found)
    assert llm.predict(li_prompts.PromptTemplate("{topic}에 대해 말해줘"), topic="헌법") == NOT_FOUND


def test_citation_query_engine_numbers(sample_index_ro: Path) -> None:
    """In llama-index's CitationQueryEngine the extractive answer cites the engine's own Source N."""
    engine = li_query_engine.CitationQueryEngine(
        rli.RabbitRetriever.bm25(sample_index_ro, k=4),
        llm=rli.RabbitLLM("extractive"),
        text_splitter=rli.KiwiSentenceSplitter(chunk_tokens=512),  # citation chunks on Korean sentence boundaries
    )
    response = engine.query("국회의원의 임기는?")
    text = str(response)
    assert text.startswith("국회의원의 임기는 4년으로 한다. [")
    n = int(text.split("[")[1].split("]")[0])
    assert "국회의원의 임기는 4년" in response.source_nodes[n - 1].node.get_content()


def test_chat_model_backend(tiny_llama: Path) -> None:
    chat_model = load_chat_model(str(tiny_llama), max_new_tokens=64)
    llm = rli.RabbitLLM(chat_model)
    meta = llm.metadata
    assert meta.is_chat_model and meta.context_window == chat_model.max_context
    assert meta.num_output <= meta.context_window // 2
    assert llm.chat_model is chat_model and llm.generator is None
    msgs = [
        li_llms.ChatMessage(role=li_llms.MessageRole.SYSTEM, content="한국어로 답하세요."),
        li_llms.ChatMessage(role=li_llms.MessageRole.USER, content="국회의원 임기는?"),
    ]
    assert llm.chat(msgs).message.content == LLAMA_SCRIPT
    stream = list(llm.stream_chat(msgs))
    assert len(stream) > 1 and "".join(r.delta for r in stream) == LLAMA_SCRIPT
    assert stream[-1].message.content == LLAMA_SCRIPT
    assert llm.complete("안녕하세요").text == LLAMA_SCRIPT
    assert "".join(r.delta for r in llm.stream_complete("안녕하세요")) == LLAMA_SCRIPT
    assert asyncio.run(llm.achat(msgs)).message.content == LLAMA_SCRIPT


def test_stopping_a_stream_early(tiny_llama_endless: Path) -> None:
    """Closing the stream stops generation (the endless model would otherwise never finish)."""
    llm = rli.RabbitLLM(load_chat_model(str(tiny_llama_endless), max_new_tokens=500_000), num_output=500_000)
    gen = llm.stream_complete("안녕하세요")
    first = [next(gen).delta for _ in range(3)]
    gen.close()
    assert all(first)


def test_bad_backend() -> None:
    with pytest.raises(InvalidInputError, match="not one of"):
        rli.RabbitLLM("gpt-17")
    with pytest.raises(InvalidInputError, match="RabbitLLM takes"):
        rli.RabbitLLM(object())  # type: ignore[arg-type]
    from rabbit_rag.generators.extractive import ExtractiveGenerator

    with pytest.raises(InvalidInputError, match="only apply"):
        rli.RabbitLLM(ExtractiveGenerator(), model="x")
