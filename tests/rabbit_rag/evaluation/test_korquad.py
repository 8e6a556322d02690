"""KorQuAD retrieval evaluation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rabbit_rag.errors import InvalidInputError
from rabbit_rag.evaluation.korquad import evaluate_retrieval, load_korquad, parse_dataset
from rabbit_rag.evaluation.metrics import ranking_metrics
from tests.conftest import shared_data

MINI = {
    "version": "KorQuAD_v1.0_dev",
    "data": [
        {
            "title": "대한민국 헌법",
            "paragraphs": [
                {"context": "대통령의 임기는 5년으로 하며, 중임할 수 없다.",
                 "qas": [{"id": "q1", "question": "대통령의 임기는?", "answers": [{"text": "5년", "answer_start": 9}]}]},
                {"context": "국회의원의 임기는 4년으로 한다.",
                 "qas": [{"id": "q2", "question": "국회의원 임기는 몇 년인가?", "answers": [{"text": "4년", "answer_start": 10}]}]},
            ],
        },
        {
            "title": "서울",
            "paragraphs": [
                {"context": "서울특별시는 대한민국의 수도이다.",
                 "qas": [{"id": "q3", "question": "대한민국의 수도는?", "answers": [{"text": "서울특별시", "answer_start": 0}]}]},
            ],
        },
    ],
}  # fmt: skip


def test_metrics() -> None:
    m = ranking_metrics([[1], [3], []], [1, 1, 1])
    assert m["recall@1"] == pytest.approx(1 / 3, abs=1e-4)
    assert m["recall@5"] == pytest.approx(2 / 3, abs=1e-4)
    assert m["mrr@10"] == pytest.approx((1 + 1 / 3) / 3, abs=1e-4)
    assert m["ndcg@10"] == pytest.approx((1 + 0.5) / 3, abs=1e-4)


def test_answer_spans_survive_normalization(tmp_path: Path) -> None:
    data = json.loads(json.dumps(MINI))
    data["data"][0]["paragraphs"][0]["context"] = "대통령의\r\n임기는 5년으로 하며"
    data["data"][0]["paragraphs"][0]["qas"][0]["answers"][0]["answer_start"] = 10
    path = tmp_path / "k.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    docs, questions = load_korquad(path, "article")
    text = {d.uri: d.text for d in docs}
    for q in questions:
        assert text[q.doc_uri][q.start : q.end] == q.answer


@pytest.mark.parametrize("unit", ["paragraph", "article"])
def test_mini_dataset(tmp_path: Path, unit: str) -> None:
    path = tmp_path / "mini.json"
    path.write_text(json.dumps(MINI, ensure_ascii=False), encoding="utf-8")
    result = evaluate_retrieval(f"korquad:{path}", unit=unit, embed_model="none", progress=False)
    assert result["n_questions"] == 3 and result["recall@1"] == 1.0 and result["mode"] == "bm25"


def test_bad_dataset_spec(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="korquad:PATH"):
        parse_dataset("squad:x.json")
    with pytest.raises(InvalidInputError, match="does not exist"):
        parse_dataset(f"korquad:{tmp_path / 'x.json'}")


@pytest.mark.slow  # the full KorQuAD dev set: about a minute
def test_korquad_dev_paragraph_recall(tmp_path: Path) -> None:
    """The whole dev set, BM25: recall@5 must stay at or above 0.98 (about 15 s)."""
    path = shared_data("korquad", "KorQuAD_v1.0_dev.json")
    result = evaluate_retrieval(path, unit="paragraph", embed_model="none", progress=False)
    assert result["n_questions"] == 5774
    assert result["recall@5"] >= 0.98, result
