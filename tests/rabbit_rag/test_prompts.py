"""Prompts: the Korean instructions, numbered sources, and fitting them to a model's context."""

from __future__ import annotations

from pathlib import Path

import pytest

from rabbit_rag.conversation import Turn
from rabbit_rag.errors import InvalidInputError
from rabbit_rag.prompts import NOT_FOUND, SYSTEM_PROMPT, build_messages, fit_prompt, source_header, strip_markers
from rabbit_rag.types import Chunk, ScoredChunk

DOC = "국회의원의 임기는 4년으로 한다. " * 400  # a long document; chunks are slices of it


def hit(i: int, start: int, length: int, **kw) -> ScoredChunk:
    return ScoredChunk(
        Chunk(i, "d1", "헌법.txt", start, start + length, DOC[start : start + length], **kw), 1.0 / (i + 1)
    )


def test_system_prompt_says_the_rules() -> None:
    assert NOT_FOUND == "제공된 문서에서 답을 찾을 수 없습니다."
    assert NOT_FOUND in SYSTEM_PROMPT and "[1]" in SYSTEM_PROMPT and "출처" in SYSTEM_PROMPT


def test_sources_are_numbered_blocks_with_source_title_and_page() -> None:
    a = hit(0, 0, 20, title="대한민국헌법", page=3, section="제3장 국회")
    msgs = build_messages("국회의원 임기는?", [a, hit(1, 20, 20)])
    assert [m["role"] for m in msgs] == ["system", "user"]
    user = msgs[-1]["content"]
    assert "[1] 출처: 헌법.txt | 제목: 대한민국헌법 | 쪽: 3 | 항목: 제3장 국회\n국회의원의 임기는" in user
    assert "\n\n[2] 출처: 헌법.txt\n" in user
    assert user.index("[1]") < user.index("[2]") < user.index("질문: 국회의원 임기는?")
    assert source_header(7, a.chunk).startswith("[7] 출처: 헌법.txt")


def test_history_goes_before_the_sources_without_markers() -> None:
    msgs = build_messages("그럼 국회의원은?", [hit(0, 0, 10)], [Turn("대통령 임기는?", "대통령의 임기는 5년이다 [1].")])
    assert [m["role"] for m in msgs] == ["system", "user", "assistant", "user"]
    assert msgs[2]["content"] == "대통령의 임기는 5년이다."
    assert strip_markers("가 [1][2], 나［３］ 다 [1, 2].") == "가, 나 다."


def chars(msgs) -> int:  # a stand-in tokenizer: one token per character
    return sum(len(m["content"]) for m in msgs)


def test_fit_drops_lowest_ranked_sources_first() -> None:
    hits = [hit(i, i * 100, 100) for i in range(10)]
    full = chars(build_messages("질문?", hits))
    prompt = fit_prompt("질문?", hits, chars, max_context=full - 250 + 64, answer_tokens=64)
    assert prompt.prompt_tokens <= full - 250
    assert prompt.sources == hits[: len(prompt.sources)] and 0 < len(prompt.sources) < 10
    assert prompt.dropped_sources == 10 - len(prompt.sources)
    assert prompt.prompt_tokens == chars(prompt.messages)
    # one more source would not have fitted
    assert chars(build_messages("질문?", hits[: len(prompt.sources) + 1])) > full - 250


def test_fit_drops_old_turns_then_cuts_the_best_source() -> None:
    base = chars(build_messages("질문?", []))
    turns = [Turn("예전 질문 " * 20, "예전 답 " * 20)]
    big = hit(0, 0, 3000)
    prompt = fit_prompt("질문?", [big], chars, max_context=base + 300 + 50, answer_tokens=50, history=turns)
    assert prompt.dropped_turns == 1 and prompt.truncated
    cut = prompt.sources[0].chunk
    assert 0 < len(cut.text) < 3000 and DOC[cut.start : cut.end] == cut.text  # offsets still exact
    assert prompt.prompt_tokens <= base + 300


def test_fit_refuses_a_question_that_cannot_fit() -> None:
    with pytest.raises(InvalidInputError, match="shorten the question"):
        fit_prompt("질문" * 500, [hit(0, 0, 10)], chars, max_context=600, answer_tokens=100)
    with pytest.raises(InvalidInputError, match="max_new_tokens"):
        fit_prompt("질문?", [], chars, max_context=100, answer_tokens=100)


def test_fit_counts_real_model_tokens(tiny_llama_random: Path) -> None:
    from rabbit_rag.generators.llm import LLMGenerator
    from rabbit_rag.generators.transformers_chat import load_chat_model

    model = load_chat_model(str(tiny_llama_random))
    hits = [hit(i, i * 300, 300) for i in range(20)]
    draft = LLMGenerator(model, max_new_tokens=64).draft("국회의원 임기는?", hits)
    draft.close()
    assert draft.prompt_tokens is not None and draft.prompt_tokens <= 2048 - 64
    assert 0 < len(draft.sources) < 20 and draft.sources == hits[: len(draft.sources)]
    assert any("left out" in n for n in draft.notes)
    from rabbit_rag.prompts import build_messages as bm

    assert model.count_tokens(bm("국회의원 임기는?", draft.sources)) == draft.prompt_tokens


def test_prompts_imports_first_in_a_fresh_interpreter() -> None:
    # rabbit_rag.generators imports this module (the extractive answerer's NOT_FOUND): prompts must not need
    # rabbit_rag.generators at import time, or `import rabbit_rag.prompts` alone fails (as it did for
    # benchmarks/generation_speed.py).
    import subprocess
    import sys

    r = subprocess.run([sys.executable, "-c", "import rabbit_rag.prompts"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
