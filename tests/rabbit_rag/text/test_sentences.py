"""Kiwi sentences with exact offsets, hard segments and structural (legal-article) breaks."""

from __future__ import annotations

import itertools

from rabbit_rag.text.sentences import analyze_many, segment_spans, split_sentences, structural_breaks

TEXT = "제1장 총강\n제1조 ① 대한민국은 민주공화국이다.\n②대한민국의 주권은 국민에게 있고, 모든 권력은 국민으로부터 나온다.\n\n대통령의 임기는 5년으로 하며, 중임할 수 없다. 국회의원의 임기는 4년으로 한다."


def test_sentence_offsets_point_into_the_text() -> None:
    sents = split_sentences(TEXT)
    texts = [TEXT[a:b] for a, b in sents]
    assert texts == [
        "제1장 총강",
        "제1조 ① 대한민국은 민주공화국이다.",
        "②대한민국의 주권은 국민에게 있고, 모든 권력은 국민으로부터 나온다.",
        "대통령의 임기는 5년으로 하며, 중임할 수 없다.",
        "국회의원의 임기는 4년으로 한다.",
    ]
    # sentences are ordered, disjoint, and cover every non-space character
    covered = set()
    for a, b in sents:
        covered.update(range(a, b))
    assert all(TEXT[i].isspace() for i in range(len(TEXT)) if i not in covered)
    assert all(b1 <= a2 for (_, b1), (a2, _) in itertools.pairwise(sents))


def test_a_piece_that_opens_with_an_ending_joins_its_subject() -> None:
    # Kiwi ends a sentence after the quoted name and its bracket; "이라는 …" cannot open one: the name
    # moves over to it, space or not (KorQuAD dev)
    text = (
        "다마스쿠스에서는 1980년대에도 이 정도의 반정부 시위는 볼 수가 없었다. "
        '"2011년 시리아 혁명" (Syrian Revolution 2011) 이라는 공식 페이지에 반정부 운동 지원 이미지가 내걸렸다.'
    )
    assert [text[a:b] for a, b in split_sentences(text)] == [
        "다마스쿠스에서는 1980년대에도 이 정도의 반정부 시위는 볼 수가 없었다.",
        '"2011년 시리아 혁명" (Syrian Revolution 2011) 이라는 공식 페이지에 반정부 운동 지원 이미지가 내걸렸다.',
    ]


def test_hard_wrapped_lines_stay_one_sentence() -> None:
    text = "초등학교 저학년의 경우에도 부모의 따뜻한 사랑과 보살핌이 필요\n한 나이이다. 다음 문장."
    assert [text[a:b] for a, b in split_sentences(text)] == [
        "초등학교 저학년의 경우에도 부모의 따뜻한 사랑과 보살핌이 필요\n한 나이이다.",
        "다음 문장.",
    ]


def test_segments_are_bounded_and_cut_at_whitespace() -> None:
    text = ("가나다라 " * 3000).strip()
    spans = segment_spans(text)
    assert len(spans) > 1
    assert all(b - a <= 4000 for a, b in spans)
    assert all(text[b] == " " for _, b in spans[:-1])


def test_structural_breaks() -> None:
    text = "제1조(목적) 이 법은\n제2조 정의\n  제3조의2 특례\n제1장 총칙\n부칙 <제1호>\n제5조에 따라 한다."
    assert [text[i : i + 3] for i in structural_breaks(text)] == ["제1조", "제2조", "제3조", "제1장", "부칙 "]


def test_analyze_many_keeps_order_and_empty_documents() -> None:
    items = [("a", "첫 문서다. 둘째 문장.", ()), ("b", "", ()), ("c", "세 번째.", ())]
    out = list(analyze_many(items))
    assert [k for k, _, _ in out] == ["a", "b", "c"]
    assert [len(s) for _, _, s in out] == [2, 0, 1]
