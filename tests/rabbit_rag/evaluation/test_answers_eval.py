"""``evaluate_answers``' tuning options: a seeded sample of the questions and the retrieval hits cache."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from rabbit_rag.errors import InvalidInputError
from rabbit_rag.evaluation import answers as answers_mod
from rabbit_rag.evaluation.answers import evaluate_answers, sample_questions
from rabbit_rag.evaluation.korquad import load_korquad
from rabbit_rag.retrieval.index_retrievers import BM25Retriever


def qa(qid: str, question: str, context: str, answer: str) -> dict:
    return {"id": qid, "question": question, "answers": [{"text": answer, "answer_start": context.index(answer)}]}


C1 = "대한민국 헌법에서 국회의원의 임기는 4년으로 한다. 대통령의 임기는 5년으로 하며, 중임할 수 없다."
C2 = "육아휴직은 만 8세 이하의 자녀를 양육하기 위하여 신청할 수 있다. 휴직 기간은 1년 이내로 한다."
C3 = "서울특별시는 대한민국의 수도이다. 서울의 인구는 약 940만 명이다."
C4 = "세종대왕은 1443년에 훈민정음을 창제하였다. 훈민정음은 1446년에 반포되었다."
DATA = {
    "version": "KorQuAD_v1.0_dev",
    "data": [
        {"title": "헌법", "paragraphs": [
            {"context": C1, "qas": [qa("q1", "국회의원의 임기는 몇 년인가?", C1, "4년"),
                                    qa("q2", "대통령의 임기는?", C1, "5년")]},
            {"context": C2, "qas": [qa("q3", "육아휴직 기간은 얼마인가?", C2, "1년 이내"),
                                    qa("q4", "육아휴직은 몇 세 이하의 자녀를 위한 것인가?", C2, "만 8세")]},
        ]},
        {"title": "서울", "paragraphs": [
            {"context": C3, "qas": [qa("q5", "대한민국의 수도는?", C3, "서울특별시"),
                                    qa("q6", "서울의 인구는 몇 명인가?", C3, "약 940만 명")]},
        ]},
        {"title": "훈민정음", "paragraphs": [
            {"context": C4, "qas": [qa("q7", "세종대왕이 훈민정음을 창제한 해는?", C4, "1443년"),
                                    qa("q8", "훈민정음이 반포된 해는?", C4, "1446년")]},
        ]},
    ],
}  # fmt: skip


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    path = tmp_path / "korquad.json"
    path.write_text(json.dumps(DATA, ensure_ascii=False), encoding="utf-8")
    return path


def test_sample_questions_is_seeded_and_in_order(dataset: Path) -> None:
    _, questions = load_korquad(dataset, "paragraph")
    ids = [q.qid for q in questions]
    a = [q.qid for q in sample_questions(questions, 4, seed=1)]
    assert a == [q.qid for q in sample_questions(questions, 4, seed=1)]  # the same seed, the same questions
    assert len(a) == 4 and len(set(a)) == 4 and a == sorted(a, key=ids.index)  # in the dataset's order
    draws = {tuple(q.qid for q in sample_questions(questions, 4, seed=s)) for s in range(6)}
    assert len(draws) > 1 and any(d != tuple(ids[:4]) for d in draws)  # random, not the first four
    assert [q.qid for q in sample_questions(questions, 99, seed=0)] == ids
    with pytest.raises(InvalidInputError, match="at least one"):
        sample_questions(questions, 0, seed=0)


def test_evaluate_answers_asks_the_sample(dataset: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[str] = []
    score = answers_mod._score

    def spy(engine: Any, questions: list, *args: Any) -> dict[str, Any]:
        asked.extend(q.qid for q in questions)
        return score(engine, questions, *args)

    monkeypatch.setattr(answers_mod, "_score", spy)
    result = evaluate_answers(dataset, "extractive", embed_model="none", progress=False, sample=3, seed=5)
    _, questions = load_korquad(dataset, "paragraph")
    assert asked == [q.qid for q in sample_questions(questions, 3, seed=5)]
    assert result["n_questions"] == 3 and result["sample"] == 3 and result["seed"] == 5
    with pytest.raises(InvalidInputError, match="not both"):
        evaluate_answers(dataset, "extractive", embed_model="none", progress=False, sample=3, limit=2)


def _metrics(result: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in result.items() if not k.startswith(("ms_", "index_", "hits_"))}


def test_hits_cache_is_reused_and_never_stale(
    dataset: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    cache = tmp_path / "hits.json"
    first = evaluate_answers(dataset, "extractive", embed_model="none", progress=False, hits_cache=cache)
    assert first["hits_cache"] == {"path": str(cache), "reused": 0, "retrieved": 8, "stale": None}
    assert cache.is_file() and len(json.loads(cache.read_text(encoding="utf-8"))["hits"]) == 8

    def no_retrieval(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("retrieved although the hits were cached")

    with monkeypatch.context() as m:  # a new index (same chunks) answers from the file, not the retriever
        m.setattr(BM25Retriever, "retrieve", no_retrieval)
        second = evaluate_answers(dataset, "extractive", embed_model="none", progress=False, hits_cache=cache)
    assert second["hits_cache"]["reused"] == 8 and second["hits_cache"]["retrieved"] == 0
    assert _metrics(second) == _metrics(first) and first["quote_covers_answer"] == 1.0

    # another dataset (one paragraph changed): another index, so the file is stale — said and rebuilt
    changed = json.loads(json.dumps(DATA))
    changed["data"][1]["paragraphs"][0]["context"] = C3 + " 서울에는 한강이 흐른다."
    dataset.write_text(json.dumps(changed, ensure_ascii=False), encoding="utf-8")
    capsys.readouterr()
    third = evaluate_answers(dataset, "extractive", embed_model="none", progress=False, hits_cache=cache, k=5)
    stale = third["hits_cache"]["stale"]
    assert stale is not None and "dataset" in stale and "index" in stale and str(cache) in stale
    assert third["hits_cache"]["retrieved"] == 8 and "hits cache" in capsys.readouterr().err
    # another k is another key too
    fourth = evaluate_answers(dataset, "extractive", embed_model="none", progress=False, hits_cache=cache, k=2)
    assert fourth["hits_cache"]["stale"] is not None and "k" in fourth["hits_cache"]["stale"]
    assert fourth["hits_cache"]["retrieved"] == 8


def test_hits_cache_unreadable_file_is_stale(dataset: Path, tmp_path: Path) -> None:
    cache = tmp_path / "hits.json"
    cache.write_text("not json", encoding="utf-8")
    result = evaluate_answers(dataset, "extractive", embed_model="none", progress=False, hits_cache=cache, limit=2)
    assert "not a hits cache" in result["hits_cache"]["stale"] and result["hits_cache"]["retrieved"] == 2
    assert json.loads(cache.read_text(encoding="utf-8"))["key"]["k"] == 5


def test_a_paragraph_repeated_word_for_word_is_gold_too(tmp_path: Path) -> None:
    """KorQuAD's dev set repeats some paragraphs under other titles: a quote of the copy covers the
    answer (the same characters), and the strict figure still tells the two apart."""
    c5 = "한글날은 10월 9일이다. 한글날은 훈민정음 반포를 기념하는 날이다."
    data = {"version": "KorQuAD_v1.0_dev", "data": [
        {"title": "가", "paragraphs": [{"context": c5, "qas": [qa("a1", "한글날은 몇 월 며칠인가?", c5, "10월 9일")]}]},
        {"title": "나", "paragraphs": [{"context": c5, "qas": [qa("b1", "한글날은 몇 월 며칠인가?", c5, "10월 9일")]}]},
        {"title": "다", "paragraphs": [{"context": C3, "qas": [qa("c1", "대한민국의 수도는?", C3, "서울특별시")]}]},
    ]}  # fmt: skip
    path = tmp_path / "dup.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    docs, _ = load_korquad(path, "paragraph")
    ids = {d.source: f"id-{i}" for i, d in enumerate(docs)}
    gold = answers_mod.gold_documents(docs, ids)
    assert gold == {docs[0].uri: ("id-0", "id-1"), docs[1].uri: ("id-1", "id-0"), docs[2].uri: ("id-2",)}

    result = evaluate_answers(path, "extractive", embed_model="none", progress=False)
    assert result["duplicate_gold_questions"] == 2
    assert result["quote_covers_answer"] == 1.0 and result["citation_in_gold"] == 1.0
    # the answer quotes one copy: one of the two questions was written on the other
    assert result["quote_covers_answer_strict"] == round(2 / 3, 4)
