"""The extractive answerer on the sample index (no language model)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rabbit_rag.conversation import Turn
from rabbit_rag.generators.extractive import ExtractiveGenerator, clean_sentence
from rabbit_rag.prompts import NOT_FOUND


@pytest.fixture(scope="module")
def index(sample_index_ro: Path):
    from rabbit_rag.index import open_index

    return open_index(sample_index_ro)


def answer(index, question: str, gen: ExtractiveGenerator | None = None, history=()) -> tuple[str, list]:
    hits = index.search(question, k=5, mode="bm25")
    draft = (gen or ExtractiveGenerator()).draft(question, hits, history)
    return "".join(draft.pieces), draft.sources


def test_answers_with_the_sentence_and_its_number(index) -> None:
    text, sources = answer(index, "국회의원 임기는?")
    assert text == "국회의원의 임기는 4년으로 한다. [1]"
    assert "국회의원의 임기는 4년" in sources[0].chunk.text


def test_not_found_when_no_sentence_answers(index) -> None:
    text, _ = answer(index, "화성 탐사 로버의 이름은?")
    assert text == NOT_FOUND
    assert "".join(ExtractiveGenerator().draft("국회의원 임기는?", []).pieces) == NOT_FOUND


def test_declining_questions_the_documents_never_mention(index) -> None:
    # 국화 is nowhere in the constitution; by default a sentence about 대한민국 answers anyway
    text, _ = answer(index, "대한민국의 국화는?")
    assert text != NOT_FOUND and "대한민국" in text
    strict = ExtractiveGenerator(max_missing_share=0.5)
    for question in ("대한민국의 국화는?", "김치 만드는 법 알려줘", "대한민국의 수도는 어디야?"):
        assert answer(index, question, strict)[0] == NOT_FOUND, question
    # questions the documents answer, predicates rephrased (뽑히, 가능) included, still get their answer
    assert answer(index, "국회의원 임기는?", strict)[0] == "국회의원의 임기는 4년으로 한다. [1]"
    assert "5년" in answer(index, "대통령의 임기는 몇 년이며 연임이 가능한가?", strict)[0]
    # the price: two nouns rephrased (the text says 수 and 이상) look like an unknown topic
    assert answer(index, "국회의원 정수의 하한은 몇 명인가?", strict)[0] == NOT_FOUND


def test_decline_share_comes_from_settings() -> None:
    from rabbit_rag.components import generator_from_settings
    from rabbit_rag.settings import Settings

    gen = generator_from_settings(Settings(extractive_max_missing=0.5), "extractive")
    assert isinstance(gen, ExtractiveGenerator) and gen.max_missing_share == 0.5
    assert generator_from_settings(Settings(), "extractive").max_missing_share is None


def test_second_sentence_only_when_it_adds_an_asked_word(index) -> None:
    picks = ExtractiveGenerator().select(
        "대통령의 임기는 몇 년이며 연임이 가능한가?", index.search("대통령 임기 연임", k=5)
    )
    assert 1 <= len(picks) <= 2
    if len(picks) == 2:
        assert picks[1].matched - picks[0].matched


def test_follow_up_uses_the_topic(index) -> None:
    history = [Turn("대통령 임기는 몇 년이야?", "대통령의 임기는 5년으로 하며, 중임할 수 없다. [1]")]
    hits = index.search("대통령 임기는 몇 년이야? 그럼 국회의원은?", k=5, mode="bm25")
    text = "".join(ExtractiveGenerator().draft("그럼 국회의원은?", hits, history).pieces)
    assert "국회의원의 임기는 4년" in text


def test_semantic_score_is_used_when_an_embedder_is_given(index) -> None:
    class Fake:
        model_id, dim, max_tokens = "fake", 2, None

        def embed(self, texts):  # sentences about 선거 point one way, the rest the other
            return np.array([[1.0, 0.0] if "비밀선거" in t else [0.0, 1.0] for t in texts], np.float32)

        def embed_query(self, text):
            return np.array([1.0, 0.0], np.float32)

        def count_tokens(self, texts):
            return [len(t) for t in texts]

    q = "대통령은 어떤 선거 방식으로 뽑히나?"
    text, _ = answer(index, q, ExtractiveGenerator(Fake()))
    assert "보통·평등·직접·비밀선거" in text
    picks = ExtractiveGenerator(Fake()).candidates(q, index.search(q, k=5, mode="bm25"))
    assert all(p.semantic is not None for p in picks)


def test_clean_sentence() -> None:
    assert clean_sentence("제42조 국회의원의 임기는 4년으로 한다.") == "국회의원의 임기는 4년으로 한다."
    assert clean_sentence("②국회의원의 수는 법률로 정한다.") == "국회의원의 수는 법률로 정한다."
    assert clean_sentence("제3조의2(목적) 이 법은 목적이 있다.") == "이 법은 목적이 있다."
    assert clean_sentence("제1조") == "제1조"
