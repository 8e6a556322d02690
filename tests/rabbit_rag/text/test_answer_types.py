"""Question types and the typed phrases of sentences."""

from __future__ import annotations

import pytest

from rabbit_rag.text.answer_types import (
    asked_noun,
    counted_unit,
    entities,
    label_type,
    labelled,
    question_type,
    same_unit,
    typed,
)


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("정전 점검은 언제 해?", "time"),
        ("탈퇴하면 파일은 며칠 뒤에 지워져?", "time"),
        ("방탄소년단이 미국 빌보드 200에 첫 진입한 해는?", "time"),
        ("원진재단의 설립시기는?", "time"),
        ("재택근무는 일주일에 몇 번 할 수 있어?", "number"),
        ("야근 식대는 얼마까지 나와?", "number"),
        ("금강산의 총 면적은?", "number"),
        ("API 문서 정리는 누가 맡았어?", "person"),
        ("환불은 어느 팀이 처리해?", "person"),
        ("1996년 애틀랜타 올림픽의 우승자는?", "person"),
        ("성 베드로 광장을 설계한 인물은?", "person"),
        ("래빗드라이브 파일은 어디에 저장돼?", "place"),
        ("히데코가 남장을 하고 숙희와 도피한 곳은?", "place"),
        ("커크 해밋은 어느 나라 출신인가?", "place"),
        ("1927년에 새로 출범한 내각의 총리는?", "person"),
        ("배우 진선규가 2017년 청룡영화제에서 남우조연상을 수상한 작품은?", "title"),
        ("북한이 금강산을 보호하는 법률은?", "title"),
        ("요금제를 바꾸면 결제일이 달라지나요?", None),
        ("국회에서 가부동수가 나오면 어떻게 처리되나?", None),
        ("차범근이 독일에서 활약할 당시 애칭은 무엇인가?", None),
    ],
)
def test_question_type(question: str, kind: str | None) -> None:
    assert question_type(question) == kind


def test_entities_dates_numbers_people_places() -> None:
    def said(text: str, kind: str) -> list[str]:
        return [e.text for e in entities(text) if e.kind == kind]

    assert said("1. 일시: 2024년 3월 16일(토) 오전 9시 ~ 오후 3시", "time") == [
        "2024년 3월 16일(토) 오전 9시 ~ 오후 3시"
    ]
    assert said("매월 첫째 주 월요일에 바뀌며", "time") == ["매월 첫째 주 월요일"]
    assert said("복수의결권 시행('23.10)", "time") == ["23.10"]
    assert said("개인 컴퓨터는 점검 전날 끄십시오.", "time") == []  # 전날 alone says when only relative to something
    assert said("야근 식대는 1만 5천 원까지 지원한다.", "number") == ["1만 5천 원"]
    assert said("프로 요금제는 월 9,900원이며", "number") == ["9,900원"]
    assert said("10.5조원의 자금을 공급", "number") == ["10.5조원"]
    assert said("환불 요청은 결제지원팀이 접수해 처리합니다.", "person") == ["결제지원팀"]
    assert said("문의는 인사팀 김하늘 대리에게 한다.", "person") == ["인사팀 김하늘 대리"]
    assert "본사 7층 대회의실" in said("- 장소: 본사 7층 대회의실", "place")
    assert {"서울", "부산"} <= set(said("서울과 부산에 있는 데이터센터", "place"))
    # ordinary nouns that end like an organisation or a place are not one
    assert said("야근 식대는 지원한다.", "person") == [] and said("일시: 내일", "place") == []


def test_titles_are_names_in_quotes_or_book_marks() -> None:
    text = '진선규는 영화 《범죄도시》를 "연기 인생의 터닝 포인트"라고 말했고, ‘금강산 관광지구법’과 〈이별의 그늘〉도 있다.'
    assert [e.text for e in typed(text, "title")] == [
        "범죄도시",
        "연기 인생의 터닝 포인트",
        "금강산 관광지구법",
        "이별의 그늘",
    ]
    # what the question itself quotes is not its answer
    assert (
        next(e.text for e in typed(text, "title", exclude="《범죄도시》에 나온 배우는?")) == "연기 인생의 터닝 포인트"
    )


def test_typed_leaves_out_what_the_question_says() -> None:
    assert [e.text for e in typed("재택근무는 주 2회까지 신청할 수 있다.", "number")] == ["2회"]
    sentence = "이 헌법은 1988년 2월 25일부터 시행한다."
    assert [e.text for e in typed(sentence, "time", exclude="1988년 2월 25일에 무엇을 했나?")] == []
    assert [e.text for e in typed(sentence, "time", exclude="이 헌법은 언제부터 시행되었나?")] == ["1988년 2월 25일"]


def test_labels_units_and_asked_nouns() -> None:
    assert labelled("- 장소: 본사 7층") == ("장소", 6) and label_type("장소") == "place"
    assert label_type("점검 업체") == "person" and label_type("일시") == "time" and label_type("비고") is None
    assert labelled("무료 요금제는 5GB를 준다.") is None
    assert counted_unit("재택근무는 일주일에 몇 번 할 수 있어?") == "번" and counted_unit("언제야?") is None
    assert same_unit("번", "회") and same_unit("명", "인") and not same_unit("명", "회")
    assert asked_noun("이명박이 진학했던 고등학교 이름은?") == "이름"
    assert asked_noun("회사 주차장 요금은 얼마야?") == "요금"
    assert asked_noun("서울의 인구는 몇 명이야?") == "인구"
    assert asked_noun("정전 점검은 언제 해?") is None  # 점검 is what the question is about, 해 asks
    assert asked_noun("게티즈버그 전투는 언제 발발했는가?") is None


def test_the_noun_after_a_question_word_is_the_asked_one() -> None:
    # "총리는 무슨 관계인가?" asks for a relation, not for a prime minister (no person question)
    assert asked_noun("한씨와 한 전 총리는 무슨 관계인가?") == "관계"
    assert question_type("한씨와 한 전 총리는 무슨 관계인가?") is None
    assert asked_noun("그가 태어난 나라는 어느 나라인가?") == "나라"
    assert asked_noun("근로교정의 기간은 어느 정도인가?") == "기간"  # 어느 정도 is a question word
