"""BM25 terms: content morphemes, compounds, query terms, key nouns."""

from __future__ import annotations

from rabbit_rag.text.terms import bm25_query_terms, bm25_tokenize, content_terms, key_nouns


def test_bm25_terms_drop_particles_and_endings() -> None:
    assert bm25_tokenize("대통령의 임기는 5년으로 하며") == ["대통령", "임기", "5", "년", "하"]
    assert bm25_tokenize("대통령은") == bm25_tokenize("대통령이") == ["대통령"]
    assert bm25_tokenize("ChatGPT를 사용했다") == ["chatgpt", "사용"]
    assert bm25_tokenize("   ") == []


def test_compounds_written_together() -> None:
    assert bm25_tokenize("국회의원 임기")[:3] == ["국회", "의원", "국회의원"]
    assert bm25_query_terms("국회의원 임기는?", lambda ts: {"국회의원"} & set(ts)) == ["국회의원", "임기"]
    assert bm25_query_terms("국회의원 임기는?", lambda ts: set()) == ["국회", "의원", "임기"]


def test_key_nouns_skip_predicates_and_keep_compounds() -> None:
    assert key_nouns("대통령의 임기는 몇 년이며 연임이 가능한가?") == {
        "대통령",
        "임기",
        "연임",
    }  # 가능하다: a predicate
    assert {"국회의원", "정수", "하한"} <= key_nouns("국회의원 정수의 하한은 몇 명인가?")
    assert key_nouns("   ") == frozenset()


def test_content_terms_drop_question_words() -> None:
    # 동안 and 중 ("during") and 며칠 ask nothing of the answer either
    assert content_terms("국회의원 임기는 얼마 동안인가요?") == ["국회의원", "임기"]
    assert "몇" not in content_terms("대통령 임기는 몇 년이야?")
    assert content_terms("탈퇴하면 파일은 며칠 뒤에 지워져?")[:2] == ["탈퇴", "파일"]
    assert "며칠" not in content_terms("탈퇴하면 파일은 며칠 뒤에 지워져?")
    assert "중" not in content_terms("정전 중에도 메일을 쓸 수 있어?")
