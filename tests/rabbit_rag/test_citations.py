"""Citations: markers parsed, mapped to sources, quotes that are exact document characters."""

from __future__ import annotations

from pathlib import Path

from rabbit_rag.citations import cite, neutralize_markers, parse_markers, verify
from rabbit_rag.types import Chunk, ScoredChunk

DOC = (
    "제41조 ① 국회는 국민의 보통·평등·직접·비밀선거에 의하여 선출된 국회의원으로 구성한다.\n"
    "②국회의원의 수는 법률로 정하되, 200인 이상으로 한다.\n"
    "제42조 국회의원의 임기는 4년으로 한다.\n"
    "제70조 대통령의 임기는 5년으로 하며, 중임할 수 없다."
)


def chunk_of(i: int, piece: str) -> ScoredChunk:
    start = DOC.index(piece)
    return ScoredChunk(Chunk(i, "doc", "헌법.txt", start, start + len(piece), piece), 1.0)


SOURCES = [
    chunk_of(10, DOC[: DOC.index("제42조")]),  # [1]: 제41조
    chunk_of(11, DOC[DOC.index("제42조") :]),  # [2]: 제42조 and 제70조
]


def test_marker_forms() -> None:
    text = "가[1]. 나 [1, 2]. 다[1][2]. 라 ［３］. 마［１，２］ 바 [2-3] 1948년 [2024]"
    assert [m.numbers for m in parse_markers(text)] == [(1,), (1, 2), (1, 2), (3,), (1, 2), (2, 3)]


def test_quotes_are_the_best_sentence_with_exact_offsets() -> None:
    text = "국회의원의 임기는 4년입니다 [2]. 대통령은 5년이고 중임할 수 없습니다 [2]. 국회의원은 200인 이상입니다 [1]."
    result = cite(text, SOURCES)
    quotes = [(c.n, c.quote) for c in result.citations]
    assert quotes == [
        (2, "제42조 국회의원의 임기는 4년으로 한다."),
        (2, "제70조 대통령의 임기는 5년으로 하며, 중임할 수 없다."),
        (1, "②국회의원의 수는 법률로 정하되, 200인 이상으로 한다."),
    ]
    assert not verify(result.citations, lambda doc_id: DOC)
    assert all(DOC[c.start : c.end] == c.quote for c in result.citations)
    assert result.text == text and not result.dropped


def test_numbers_without_a_source_are_dropped_and_counted() -> None:
    result = cite("국회의원의 임기는 4년이다 [2, 7]. 근거 없음 [9].", SOURCES)
    assert result.dropped == [7, 9] and result.n_dropped == 2
    assert result.text == "국회의원의 임기는 4년이다 [2]. 근거 없음."
    assert [c.n for c in result.citations] == [2]


def test_full_width_and_leading_markers() -> None:
    result = cite("［２］ 국회의원의 임기는 4년이다.", SOURCES)
    assert result.citations[0].quote == "제42조 국회의원의 임기는 4년으로 한다."


def test_no_markers_no_citations() -> None:
    assert cite("제공된 문서에서 답을 찾을 수 없습니다.", SOURCES).citations == []


def test_verify_catches_a_wrong_offset() -> None:
    good = cite("국회의원 임기는 4년 [2].", SOURCES).citations[0]
    bad = good.model_copy(update={"start": good.start + 1})
    assert verify([good, bad], lambda d: DOC) == [bad]


def test_citations_verify_against_the_docstore(sample_index_ro: Path) -> None:
    from rabbit_rag.index import open_index

    index = open_index(sample_index_ro)
    hits = index.search("대통령 임기 중임", k=3, mode="bm25")
    result = cite("대통령의 임기는 5년이며 중임할 수 없다 [1][2][3].", hits)
    assert result.citations and not verify(result.citations, index.document_text)


def test_markers_written_in_documents_are_neutralized() -> None:
    text = "선행 연구[2]와 표준[1-5]을 따른다. 연도 [2024]는 그대로, ［３］도 바뀐다."
    out = neutralize_markers(text)
    assert out == "선행 연구〔2〕와 표준〔1-5〕을 따른다. 연도 [2024]는 그대로, 〔３〕도 바뀐다."
    assert len(out) == len(text) and parse_markers(out) == []
    assert neutralize_markers("표시 없음") == "표시 없음"


def test_anchors_say_which_sentence_backs_each_marker() -> None:
    text = "국회의원의 임기는 4년이다 [2]. 대통령은 5년이다 [2]."
    s2 = SOURCES[1].chunk.text
    a = s2.index("제70조")
    # the generator says the first marker rests on the 제70조 sentence: no sentence is guessed
    result = cite(text, SOURCES, anchors=[(2, a, len(s2)), (2, 0, s2.index("\n"))])
    assert [c.quote for c in result.citations] == [s2[a:], "제42조 국회의원의 임기는 4년으로 한다."]
    assert not verify(result.citations, lambda doc_id: DOC)
    # anchors that do not match the markers (count or numbers) are ignored
    guessed = cite(text, SOURCES, anchors=[(1, 0, 5)])
    assert [c.quote for c in guessed.citations] == [
        "제42조 국회의원의 임기는 4년으로 한다.",
        "제70조 대통령의 임기는 5년으로 하며, 중임할 수 없다.",
    ]
