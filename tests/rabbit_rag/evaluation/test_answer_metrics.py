"""KorQuAD 1.0's official answer normalization, exact match and character F1."""

from __future__ import annotations

import pytest

from rabbit_rag.evaluation.answer_metrics import contains_answer, exact_match, f1_score, normalize_answer


def test_normalization_follows_the_official_script() -> None:
    assert normalize_answer(" 《대한민국》의  (헌법) ") == "대한민국 의 헌법"
    assert normalize_answer("‘A.B’, C!") == "ab c"


def test_exact_match_and_character_f1() -> None:
    assert exact_match("「4년」", "「4년」") == 1.0
    assert exact_match("4 년", "4년") == 0.0  # spaces count for EM, as in the official script
    assert f1_score("4 년", "4년") == 1.0  # but not for character F1
    assert f1_score("임기는 4년", "4년") == pytest.approx(2 * (2 / 5) * 1 / (2 / 5 + 1))
    assert f1_score("", "4년") == 0.0 and f1_score("가나", "다라") == 0.0
    assert contains_answer("국회의원의 임기는 4년으로 한다. [1]", "4년") == 1.0
    assert contains_answer("제공된 문서에서 답을 찾을 수 없습니다.", "4년") == 0.0
