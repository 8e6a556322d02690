"""Spacing repair: broken Korean spacing is found and re-spaced; normal text never changes."""

from __future__ import annotations

import json
import random

import pytest

from rabbit_rag.text.spacing import OffsetMap, hangul_per_space, implausible_spans, repair_spacing
from tests.conftest import shared_data

# what pypdf made of a web-saved PDF (000_web.pdf of ../shared/data/pdf_web), line for line
BROKEN = (
    "임 종 석 은  청 량 리 경 찰 서 에 서  약  1 시 간  동 안  조 사 를  받 은  뒤  오 전  9 시  50 분  경  "
    "서 울  장 안 동 의  서 울 지 방 경 찰 청  공 안 분 실 로  인 계 되 었 다 ."
)
NORMAL = "임종석은 청량리경찰서에서 약 1시간 동안 조사를 받은 뒤 오전 9시 50분 경 서울 장안동의 서울지방경찰청 공안분실로 인계되었다."


def _no_spaces(s: str) -> str:
    return "".join(s.split())


def test_broken_spacing_is_respaced_with_the_same_characters() -> None:
    fixed = repair_spacing(BROKEN)
    assert len(fixed.edits) == 1 and (fixed.edits[0].start, fixed.edits[0].end) == (0, len(BROKEN))
    assert _no_spaces(fixed.text) == _no_spaces(BROKEN)  # only spaces changed
    assert hangul_per_space(BROKEN) < 1.2 < 2.5 < hangul_per_space(fixed.text)
    words = fixed.text.split()
    for word in ("임종석은", "1시간", "동안", "조사를", "장안동의", "인계되었다."):
        assert word in words, fixed.text
    # Korean typography inside the span: no space before the final period, none between 9 and 시
    assert not fixed.text.endswith(" .") and "9 시" not in fixed.text


def test_only_the_broken_line_changes_and_line_breaks_stay() -> None:
    text = f"제1장 총칙\n{NORMAL}\n{BROKEN}\n그 후 한 두 곳을 더 찾았다."
    fixed = repair_spacing(text)
    old, new = text.split("\n"), fixed.text.split("\n")
    assert len(new) == 4 and new[0] == old[0] and new[1] == old[1] and new[3] == old[3]
    assert new[2] != old[2] and _no_spaces(new[2]) == _no_spaces(old[2])
    (span,) = implausible_spans(text)
    assert text[span[0] : span[1]] == BROKEN


@pytest.mark.parametrize(
    "line",
    [
        "제  출  자 :  정         부",  # letter-spaced form fields in the bills
        "팀      장   정 문 종",
        "  ◦ 증 식 / 피 복 비",
        "그 중 한 곳은 이 두 개의 섬 가운데 더 큰 섬에 있다.",  # seven single syllables in ten words
        "가 나 다 라 마",  # an enumeration of single syllables: too short to judge
        "ÇÑ±¹¾î ¹®¼­",
        "",
    ],
)
def test_plausible_spacing_is_left_alone(line: str) -> None:
    assert implausible_spans(line) == []
    assert repair_spacing(line).text == line and repair_spacing(line).edits == ()


def test_a_spacer_that_changes_characters_is_not_trusted() -> None:
    out = repair_spacing(BROKEN, spacer=lambda texts: [t.replace("임", "林") for t in texts])
    assert out.text == BROKEN and out.edits == ()
    calls: list[list[str]] = []
    repair_spacing(f"{BROKEN}\n보통 문장이다.\n{BROKEN}", spacer=lambda t: calls.append(t) or t)
    assert calls == [[BROKEN, BROKEN]]  # one batch for the whole text


def test_offset_map_carries_offsets_into_the_new_text() -> None:
    text = f"머리말이다.\n{BROKEN}\n가운데 줄이다.\n{BROKEN}\n끝 줄이다."
    fixed = repair_spacing(text)
    assert len(fixed.edits) == 2
    move = OffsetMap(text, fixed.edits)
    lines = text.split("\n")
    starts = [sum(len(x) + 1 for x in lines[:i]) for i in range(len(lines))]
    for i, start in enumerate(starts):
        end = start + len(lines[i])
        piece = fixed.text[move(start) : move(end)]
        assert _no_spaces(piece) == _no_spaces(lines[i])
        if i in (0, 2, 4):
            assert piece == lines[i]
    assert move(len(text)) == len(fixed.text)
    # an offset inside an edit keeps its place among the non-space characters
    rnd = random.Random(0)
    for _ in range(50):
        k = rnd.randrange(starts[1], starts[1] + len(BROKEN))
        before = _no_spaces(text[starts[1] : k])
        assert _no_spaces(fixed.text[move(starts[1]) : move(k)]) == before


def test_normal_korean_corpora_come_out_byte_identical() -> None:
    """KorQuAD contexts, the constitution and the ten bills: nothing is flagged, nothing changes."""
    korquad = json.loads(shared_data("korquad", "KorQuAD_v1.0_dev.json").read_text(encoding="utf-8"))
    texts = [p["context"] for a in korquad["data"] for p in a["paragraphs"]]
    texts.append(shared_data("corpus", "constitution.txt").read_text(encoding="utf-8"))
    texts += [p.read_text(encoding="utf-8") for p in sorted(shared_data("corpus", "kobill").glob("*.txt"))]
    assert len(texts) == 964 + 1 + 10
    for text in texts:
        assert implausible_spans(text) == [], text[:80]
        assert repair_spacing(text, spacer=lambda t: pytest.fail(f"spacer called on {t[:1]}")).text is text


def test_short_neighbours_broken_the_same_way_are_repaired_with_their_paragraph() -> None:
    text = f"임 종 석\n{BROKEN}\n받 았 다 .\n그 후 한 두 곳을 더 찾았다."
    fixed = repair_spacing(text).text.split("\n")
    assert fixed[0] == "임종석" and fixed[2] == "받았다." and fixed[3] == "그 후 한 두 곳을 더 찾았다."
    assert repair_spacing("임 종 석\n보통 문장이다.").edits == ()  # alone, three syllables are not evidence
    glued = "임종석은청량리경찰서에서약1시간동안조사를받은뒤서울지방경찰청으로\n인계되었다그뒤\n재판을 받았다."
    out = repair_spacing(glued).text.split("\n")
    assert "임종석은" in out[0].split() and "동안" in out[0].split() and " " in out[1]
    assert out[2] == "재판을 받았다."


def test_long_spans_are_re_spaced_in_pieces_under_a_per_document_cap() -> None:
    from rabbit_rag.text.spacing import MAX_PIECE_CHARS, MAX_RESPACED_CHARS

    seen: list[int] = []

    def spacer(texts: list[str]) -> list[str]:
        seen.extend(len(t) for t in texts)
        return ["".join(t.split()) for t in texts]  # "no spaces": the glued line stays glued

    rng = random.Random(0)
    glued = "".join(chr(0xAC00 + rng.randrange(2000)) for _ in range(120_000))  # no space: lost spaces
    result = repair_spacing(glued, spacer)
    assert seen and max(seen) <= MAX_PIECE_CHARS and sum(seen) <= MAX_RESPACED_CHARS
    assert result.unrepaired == len(glued) - sum(seen) > 0 and result.text == glued
    text = " ".join(glued[:3000])  # letter-spaced: pieces cut at a space keep it
    fixed = repair_spacing(text, lambda ts: [" ".join(t.split()) for t in ts])
    assert fixed.text == text and fixed.unrepaired == 0
    assert repair_spacing("가" * 5000, spacer).unrepaired == 5000  # one syllable repeated: not prose, not sent
