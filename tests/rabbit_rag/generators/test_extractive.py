"""The extractive answerer on the sample index (no language model)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rabbit_rag.conversation import Turn
from rabbit_rag.generators.extractive import ExtractiveGenerator, clean_sentence, read_row
from rabbit_rag.prompts import NOT_FOUND
from rabbit_rag.types import Chunk, Document, ScoredChunk


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
    # by default: questions whose words the sources never mention
    for question in ("김치 만드는 법 알려줘", "화성 탐사 로버의 이름은?", "이순신 장군은 언제 태어났어?"):
        assert answer(index, question)[0] == NOT_FOUND, question
    # questions the documents answer, predicates and nouns rephrased, still get their answer
    assert answer(index, "국회의원 임기는?")[0] == "국회의원의 임기는 4년으로 한다. [1]"
    assert "5년" in answer(index, "대통령의 임기는 몇 년이며 연임이 가능한가?")[0]
    # 정수, 하한 are the constitution's 수 and 이상; the answer counts in the asked unit (몇 명 → 200인)
    assert "200인 이상" in answer(index, "국회의원 정수의 하한은 몇 명인가?")[0]
    # "대한민국의 국화는?": 국화 names what is asked, so it counts half; a stricter share declines it
    strict = ExtractiveGenerator(max_missing_share=0.3)
    for question in ("대한민국의 국화는?", "대한민국의 수도는 어디야?"):
        assert answer(index, question, strict)[0] == NOT_FOUND, question
    assert answer(index, "국회의원 임기는?", strict)[0] == "국회의원의 임기는 4년으로 한다. [1]"


def test_decline_share_comes_from_settings() -> None:
    from rabbit_rag.components import generator_from_settings
    from rabbit_rag.generators.base import DEFAULT_MAX_MISSING
    from rabbit_rag.settings import Settings

    gen = generator_from_settings(Settings(extractive_max_missing=0.3), "extractive")
    assert isinstance(gen, ExtractiveGenerator) and gen.max_missing_share == 0.3
    assert generator_from_settings(Settings(), "extractive").max_missing_share == DEFAULT_MAX_MISSING


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
    assert clean_sentence(" ○ 10.5조원 적시 공급") == "10.5조원 적시 공급"
    assert clean_sentence("**A.** 국내 데이터센터에 저장됩니다.") == "국내 데이터센터에 저장됩니다."
    assert clean_sentence("답변: 5영업일 안에 지급합니다.") == "5영업일 안에 지급합니다."
    assert clean_sentence("- 장소: **본사** 7층") == "장소: 본사 7층"
    assert read_row("| API 문서 정리 | 김민수 | 3월 15일 |", "업무 | 담당 | 기한") == (
        "업무: API 문서 정리, 담당: 김민수, 기한: 3월 15일"
    )
    assert read_row("| a | b |", "한 열") == "a, b"  # a header that does not fit is left out


def _hit(n: int, doc: Document, start: int = 0, end: int | None = None) -> ScoredChunk:
    """Source ``n``: the document's text from ``start`` to ``end`` as a chunk carrying its blocks."""
    end = len(doc.text) if end is None else end
    blocks = tuple(b for b in doc.blocks if start <= b.start and b.end <= end)
    chunk = Chunk(n, "d", doc.source, start, end, doc.text[start:end], title=doc.title, blocks=blocks)
    return ScoredChunk(chunk, 1.0)


def test_faq_answer_not_the_question_line() -> None:
    from rabbit_rag.ingest.readers import read_bytes

    faq = read_bytes(
        "# 자주 묻는 질문\n\n### 무료 요금제의 저장 용량은 얼마인가요?\n\n무료 요금제는 계정당 5GB를 제공합니다.\n\n"
        "### 환불은 누가 처리하나요?\n\n결제지원팀이 3영업일 안에 처리합니다.\n".encode(),
        "faq.md",
    )
    draft = ExtractiveGenerator().draft("무료 요금제 저장 용량은 얼마야?", [_hit(1, faq)])
    assert "".join(draft.pieces) == "무료 요금제는 계정당 5GB를 제공합니다. [1]"
    n, a, b = draft.span
    assert faq.text[a:b] == "5GB" and n == 1
    # the answer to the other question, though it never says 환불: its FAQ question does
    assert "".join(ExtractiveGenerator().draft("환불 담당은?", [_hit(1, faq)]).pieces).startswith("결제지원팀")


def test_table_rows_answer_with_their_header() -> None:
    from rabbit_rag.ingest.readers import read_bytes

    doc = read_bytes(
        "## 업무 분담\n\n| 업무 | 담당 | 기한 |\n|---|---|---|\n| API 문서 정리 | 김민수 | 3월 15일 |\n"
        "| 로그인 오류 수정 | 이지은 | 3월 13일 |\n".encode(),
        "회의록.md",
    )
    gen = ExtractiveGenerator()
    draft = gen.draft("API 문서 정리는 누가 맡았어?", [_hit(1, doc)])
    assert "".join(draft.pieces) == "업무: API 문서 정리, 담당: 김민수, 기한: 3월 15일 [1]"
    assert doc.text[draft.span[1] : draft.span[2]] == "김민수"
    assert draft.anchors == [(1, doc.text.index("| API"), doc.text.index("15일 |") + 5)]
    when = gen.draft("로그인 오류 수정 기한은 언제야?", [_hit(1, doc)])
    assert doc.text[when.span[1] : when.span[2]] == "3월 13일"


def test_headings_and_titles_are_never_answers() -> None:
    from rabbit_rag.ingest.readers import read_bytes

    notice = read_bytes(
        "[공지] 본관 정전 점검 안내\n\n전기 설비 점검을 위해 전기 공급이 중단됩니다.\n\n"
        "1. 일시: 2024년 3월 16일(토) 오전 9시 ~ 오후 3시\n2. 문의: 시설관리팀 박정호 과장\n".encode(),
        "공지.txt",
    )
    gen = ExtractiveGenerator()
    picks = gen.candidates("정전 점검은 언제 해?", [_hit(1, notice)])
    assert all(not p.text.startswith("[공지]") for p in picks)
    draft = gen.draft("정전 점검은 언제 해?", [_hit(1, notice)])
    assert "".join(draft.pieces) == "일시: 2024년 3월 16일(토) 오전 9시 ~ 오후 3시 [1]"
    assert notice.text[draft.span[1] : draft.span[2]] == "2024년 3월 16일(토) 오전 9시 ~ 오후 3시"
    who = gen.draft("정전 점검 문의는 누구한테 해?", [_hit(1, notice)])
    assert notice.text[who.span[1] : who.span[2]] == "시설관리팀 박정호 과장"
