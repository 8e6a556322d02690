"""What a question asks for, and where a sentence says it: dates and times, numbers with units,
people and organisations, places.

The question's type comes from its question word or the noun it asks about: 언제·며칠·날짜·시기 →
``time``; 얼마·몇·횟수·금액 → ``number``; 누가·누구·이름·인물·담당 → ``person`` (people and
organisations); 어디·어느 나라·장소·위치 → ``place``; 작품·제목·영화·곡·법률 → ``title``, a name written
in quotes or book marks (《범죄도시》, ‘금강산 관광지구법’). The answers are found with Kiwi's tags (see
:mod:`rabbit_rag.text.terms` for the tag table): numbers are ``SN``/``NR`` (and numeral ``MM`` such as
두) with their unit (``NNB`` 년, 원, 명; ``SL`` GB); times are numbers with a time unit and time
words (오전, 토요일, 첫째 주); people and organisations are proper nouns (``NNP``, foreign ``SL``) and
nouns ending in an organisation or title word (결제지원팀, 과장); places are proper nouns and nouns
ending in a place word (대회의실, 7층, 데이터센터) or marked by 에서.

예::

    >>> question_type("정전 점검은 언제 해?")
    'time'
    >>> [e.text for e in entities("일시: 2024년 3월 16일(토) 오전 9시 ~ 오후 3시") if e.kind == "time"]
    ['2024년 3월 16일(토) 오전 9시 ~ 오후 3시']
"""

from __future__ import annotations

import functools
import itertools
import re
from dataclasses import dataclass
from typing import Literal

from rabbit_rag.text.kiwi import Lex, get_kiwi, lex

AnswerType = Literal["time", "number", "person", "place", "title"]

_TIME_UNITS = frozenset(
    {"년", "월", "일", "시", "분", "초", "년도", "세기", "년대", "분기", "학기", "주", "주일", "시경"}
)
_TIME_WORDS = frozenset(
    {
        "오전", "오후", "새벽", "아침", "저녁", "밤", "낮", "정오", "자정", "상순", "중순", "하순", "초순", "말", "초",
        "월요일", "화요일", "수요일", "목요일", "금요일", "토요일", "일요일", "평일", "주말", "공휴일", "당일", "전날",
        "다음날", "이튿날", "매일", "매주", "매월", "매년", "첫째", "둘째", "셋째", "넷째", "마지막", "봄", "여름",
        "가을", "겨울", "올해", "내년", "작년", "오늘", "내일", "어제", "분기", "상반기", "하반기", "기원전",
    }
)  # fmt: skip
# Times that only say when relative to something else (전날, 주말): an answer to 언제 only beside a date.
_RELATIVE_TIME = frozenset(
    {"전날", "당일", "다음날", "이튿날", "오늘", "내일", "어제", "주말", "평일", "공휴일", "말", "초"}
)
_WEEKDAY = re.compile(r"\(\s*[월화수목금토일]\s*\)")
_DATE = re.compile(r"(?<!\d)(?:\d{4}|'\d{2})[.\-/]\s?\d{1,2}(?:[.\-/]\s?\d{1,2})?\.?(?!\d)")
_NUMERAL_MM = frozenset(
    {"한", "두", "세", "네", "다섯", "여섯", "일곱", "여덟", "아홉", "열", "스무", "수십", "수백", "수천"}
)
# An organisation or title word written as its own morpheme after a noun (인사+팀, 김+과장), or at
# the end of a longer noun (결제지원팀, 데이터센터).
_ORG_MORPHS = frozenset(
    {
        "팀", "부", "과", "처", "청", "국", "원", "실", "위원회", "센터", "본부", "협회", "공단", "공사", "재단", "학회",
        "회사", "은행", "대학", "대학교", "학교", "정부", "법원", "국회", "의회", "당", "단체", "기관", "그룹", "사",
        "연구소", "연맹", "조합", "병원", "방송", "신문", "기구", "연합", "부서", "구단", "밴드", "왕조",
    }
)  # fmt: skip
_ORG_ENDINGS = ("팀", "위원회", "센터", "본부", "협회", "공단", "재단", "학회", "회사", "은행", "대학교", "연구소",
                "연맹", "조합", "병원", "방송", "기구", "부서", "구단", "왕조", "정부")  # fmt: skip
_PERSON_TITLES = frozenset(
    {
        "씨", "님", "대리", "과장", "차장", "부장", "팀장", "실장", "본부장", "사장", "대표", "이사", "책임", "선임",
        "수석", "주임", "사원", "교수", "박사", "선생", "의원", "장관", "대통령", "총리", "왕", "황제", "감독",
        "선수", "작가", "회장", "위원장", "원장", "총장", "시장", "지사", "담당", "담당자", "변호사", "판사", "검사",
    }
)  # fmt: skip
_PLACE_MORPHS = frozenset(
    {
        "층", "실", "관", "호", "센터", "역", "공항", "항", "시", "도", "군", "구", "동", "읍", "면", "리", "섬", "산",
        "강", "국", "나라", "지역", "대륙", "건물", "회의실", "사무실", "강당", "광장", "공원", "궁", "도시", "마을",
        "지방", "보관함", "창고", "로비", "본사", "공장", "항구", "데이터센터", "별관", "본관", "캠퍼스",
    }
)  # fmt: skip
_PLACE_ENDINGS = ("회의실", "사무실", "센터", "공항", "광장", "공원", "도시", "마을", "보관함", "창고", "본사", "공장",
                  "항구", "지역", "강당", "역", "대학교", "반도", "왕국", "제국", "해협", "산맥")  # fmt: skip

# Question cues: a question word, or the noun the question asks about (…의 이름은?).
_Q_TIME = re.compile(r"언제|며칠|몇\s*(?:년도|월|일|시|분기|세기)|몇\s*년에|무슨\s*요일|어느\s*(?:날|해|때|요일)")
_Q_PLACE = re.compile(r"어느\s*(?:곳|나라|도시|지역|국가|층|장소|쪽)")
_Q_PERSON = re.compile(r"어느\s*(?:팀|부서|기관|회사|단체|대학|학교|정당|나라의\s*왕)|어떤\s*(?:사람|인물)")
_TIME_NOUNS = frozenset(
    [
        "해",
        "연도",
        "년도",
        "날짜",
        "일자",
        "시기",
        "시점",
        "때",
        "날",
        "기간",
        "기한",
        "일시",
        "시각",
        "시간",
        "요일",
        "연대",
        "세기",
        "해",
    ]
)
_PLACE_NOUNS = frozenset(
    ["곳", "장소", "지역", "나라", "국가", "도시", "위치", "출신지", "고향", "수도", "지명", "무대", "배경"]
)
_PERSON_NOUNS = frozenset(
    [
        "사람",
        "인물",
        "선수",
        "감독",
        "작가",
        "가수",
        "배우",
        "연기자",
        "의원",
        "대통령",
        "왕",
        "장관",
        "회장",
        "기관",
        "단체",
        "회사",
        "대학교",
        "대학",
        "학교",
        "팀",
        "그룹",
        "정당",
        "부서",
        "담당자",
        "주인공",
        "후임",
        "전임",
        "상대",
        "상대방",
        "아버지",
        "어머니",
        "아들",
        "딸",
        "부인",
        "남편",
        "스승",
        "제자",
        "친구",
        "저자",
        "작곡가",
        "화가",
        "국왕",
        "황제",
        "지도자",
        "대표",
        "후보",
        "구단",
        "밴드",
        "출판사",
        "신문사",
        "방송사",
        # KorQuAD dev's questions that asked for a person by these went untyped
        "정치인",
        "여배우",
        "남배우",
        "교수",
        "총리",
        "수상",
        "검사",
        "판사",
        "총독",
        "왕비",
        "왕자",
        "공주",
        "황후",
        "대사",
        "시인",
        "소설가",
        "학자",
        "장군",
        "사령관",
        "멤버",
        "형",
        "동생",
        "누나",
        "언니",
        "오빠",
        "아내",
        "장남",
        "장녀",
        "차남",
        "손자",
        "외할머니",
        "할머니",
        "할아버지",
        "비서관",
        "비서실장",
        "당수",
    ]
)
_NOT_PERSON_JA = frozenset(
    [
        "숫자",
        "문자",
        "글자",
        "원자",
        "분자",
        "의자",
        "모자",
        "상자",
        "액자",
        "전자",
        "투자",
        "이자",
        "과자",
        "주자",
        "양자",
        "입자",
        "유전자",
        "연산자",
    ]
)
_NUMBER_NOUNS = frozenset(
    [
        "수",
        "개수",
        "횟수",
        "금액",
        "비용",
        "가격",
        "예산",
        "요금",
        "면적",
        "길이",
        "높이",
        "넓이",
        "무게",
        "인구",
        "점수",
        "비율",
        "나이",
        "규모",
        "용량",
        "크기",
        "속도",
        "거리",
        "온도",
        "기록",
        "한도",
        "순위",
        "액수",
        "인원",
        "수치",
        "득점",
        "매출",
        "매출액",
        "관객수",
        "관중",
        "판매량",
        "판매액",
        "득표율",
        "득표수",
        "비중",
        "임기",
        "정원",
        "수명",
    ]
)


#: Nouns that ask for the name of a work, a law or a saying: the answer is usually quoted (《범죄도시》).
TITLE_NOUNS = frozenset(
    [
        "제목",
        "영화",
        "작품",
        "곡",
        "드라마",
        "책",
        "프로그램",
        "데뷔작",
        "노래",
        "앨범",
        "소설",
        "싱글",
        "잡지",
        "시리즈",
        "대표곡",
        "타이틀곡",
        "저서",
        "에피소드",
        "법안",
        "법률",
        "슬로건",
        "경전",
        "복음서",
        "시",
        "희곡",
        "신문",
        "게임",
        "음반",
        "애니메이션",
        "만화",
        "칼럼",
        "작품명",
        "곡명",
        "표어",
        "구호",
        "별명",
        "별칭",
    ]
)
_QUOTED = re.compile(
    r"《([^《》]{1,60})》|〈([^〈〉]{1,60})〉|「([^「」]{1,60})」|『([^『』]{1,60})』|‘([^‘’]{1,60})’|“([^“”]{1,60})”|\"([^\"]{1,60})\"|'([^']{1,60})'"
)


def question_type(question: str) -> AnswerType | None:
    """What the question asks for, or None (무엇, 어떻게, yes/no questions).

    First its question word (누가 → person, 어디 → place, 언제/며칠/몇 시 → time, 몇/얼마 → number,
    어느 나라 → place), else the noun that names what is asked (:func:`asked_noun`: …한 해는? → time,
    …한 인물은? / 우승자는? → person, …한 곳은? → place, 개수는? → number).

    예: ``question_type("환불은 어느 팀이 처리해?")`` → ``'person'``
    """
    q = question
    if re.search(r"누가|누구|누군", q):
        return "person"
    if "어디" in q:
        return "place"
    if _Q_TIME.search(q):
        return "time"
    if _Q_PLACE.search(q):
        return "place"
    if _Q_PERSON.search(q):
        return "person"
    if re.search(r"몇|얼마", q):
        return "number"
    noun = asked_noun(q)
    if noun is None:
        return None
    if noun in _TIME_NOUNS:
        return "time"
    if noun in _PLACE_NOUNS:
        return "place"
    if noun in _NUMBER_NOUNS:
        return "number"
    if noun in _PERSON_NOUNS or (len(noun) >= 2 and noun.endswith("자") and noun not in _NOT_PERSON_JA):
        return "person"
    if noun in TITLE_NOUNS:
        return "title"
    return None


@functools.lru_cache(maxsize=4096)
def counted_unit(question: str) -> str | None:
    """The unit a question counts in: 번 of 몇 번, 명 of 몇 명, 년 of 몇 년 (None without 몇).

    예: ``counted_unit("재택근무는 일주일에 몇 번 할 수 있어?")`` → ``'번'``
    """
    if "몇" not in question:
        return None
    morphs = lex(get_kiwi().tokenize(question))
    for (form, tag, _, _), nxt in itertools.pairwise(morphs):
        if form == "몇" and tag in ("MM", "NR") and nxt[1] in ("NNB", "NNG"):
            return nxt[0]
    return None


_ASKING = frozenset({"무엇", "누구", "어디", "언제", "얼마", "며칠", "몇", "어느", "무슨", "어떤", "뭐", "얼마나"})


@functools.lru_cache(maxsize=4096)
def asked_noun(question: str) -> str | None:
    """The noun that names what the question asks for: the last noun before a particle followed by the
    end of the question or by a question word (``…의 이름은?``, ``…한 정책은 무엇인가?``, ``요금은 얼마야?``).
    It describes the answer rather than the topic, so documents rarely repeat it.

    예: ``asked_noun("이명박이 진학했던 고등학교 이름은?")`` → ``'이름'``
    """
    morphs = lex(get_kiwi().tokenize(question))
    for i in range(len(morphs) - 2, -1, -1):
        form, tag, _, _ = morphs[i]
        if tag not in ("NNG", "NNP", "NNB") or form in _ASKING:
            continue
        if i > 0 and morphs[i - 1][0] in ("몇", "어느", "무슨") and tag in ("NNB", "NNG"):
            continue  # the unit of 몇 명, the noun of 어느 나라: part of the question word
        j = i + 1
        if morphs[j][1] not in ("JX", "JKS"):
            return None
        rest = [m for m in morphs[j + 1 :] if m[1] not in ("SF", "SP", "SE", "SS", "SW")]
        if (
            len(rest) >= 2
            and rest[0][0] in ("무슨", "어느", "어떤")
            and rest[1][1] == "NNG"
            and rest[1][0] not in ("정도", "쪽", "편")
            and all(t in ("VCP", "EF", "EP", "EC", "ETM", "JX", "VX") for _, t, _, _ in rest[2:])
        ):
            return rest[1][0]  # 총리는 무슨 관계인가?: the relation is asked, not the prime minister
        if rest and rest[0][0] in _ASKING:
            rest = rest[1:]
            if rest and rest[0][1] in ("NNB", "NNG") and morphs[j + 1][0] in ("몇", "어느", "무슨"):
                rest = rest[1:]  # 몇 명, 어느 나라
        if all(t in ("VCP", "EF", "EP", "EC", "ETM", "JX", "VX") for _, t, _, _ in rest):
            return form  # 이름은?  이름은 무엇인가?  요금은 얼마야?
        return None
    return None


_UNIT_OF_NOUN = {"층수": "층", "횟수": "회", "점수": "점", "개수": "개", "인원": "명", "인원수": "명", "관객수": "명",
                 "인구": "명", "나이": "살", "득점": "점", "득표수": "표", "회수": "회"}  # fmt: skip


def expected_unit(question: str) -> str | None:
    """The unit a number answering the question should carry: 번 of 몇 번, 층 of 층수는?, 명 of 인구는?

    예: ``expected_unit("1935년 내자동에 지어진 관사의 층수는 얼마인가?")`` → ``'층'``
    """
    unit = counted_unit(question)
    if unit is not None:
        return unit
    noun = asked_noun(question)
    if noun is None:
        return None
    return _UNIT_OF_NOUN.get(noun)


def asks_year(question: str) -> bool:
    """Whether a time question asks for a year (…한 해는?, 연도는?, 몇 년도에…).

    예: ``asks_year("나치 독일이 연합군에 항복한 년도는?")`` → ``True``
    """
    return bool(re.search(r"몇\s*년도|몇\s*년에|어느\s*해", question)) or asked_noun(question) in ("해", "연도", "년도")


def unit_of(entity_text: str) -> str:
    """The unit a number is written with (``2회`` → ``회``, ``1만 5천 원`` → ``원``; empty without one)."""
    m = re.search(r"([가-힣A-Za-z%]+)\s*$", entity_text)
    return m.group(1) if m else ""


#: Units that count the same things (a question's 몇 번 is answered by 2회).
SAME_UNITS: tuple[frozenset[str], ...] = (
    frozenset({"번", "회", "차례", "차"}),
    frozenset({"명", "인", "사람", "분"}),
    frozenset({"개", "건", "개사", "곳", "가지"}),
    frozenset({"년", "해"}),
    frozenset({"살", "세"}),
)


def same_unit(unit: str, other: str) -> bool:
    """Whether two counting units count the same things (번 and 회).

    예: ``same_unit("번", "회")`` → ``True``
    """
    return unit == other or any(unit in group and other in group for group in SAME_UNITS)


@dataclass(frozen=True, slots=True)
class Entity:
    """A typed phrase of a text: ``text[start:end]``; ``kind`` is an :data:`AnswerType`. ``weak``: it
    only may be one (a bare title such as 대표이사 without a name, a number without a unit)."""

    kind: AnswerType
    start: int
    end: int
    text: str
    weak: bool = False


def _noun(tag: str) -> bool:
    return tag in ("NNG", "NNP", "NNB", "SL", "SH", "XSN", "XPN")


def _runs(morphs: list[Lex], text: str) -> list[tuple[int, int]]:
    """``[i, j)`` morpheme runs of nouns, numbers and foreign words, joined across spaces."""
    runs: list[tuple[int, int]] = []
    i = 0
    while i < len(morphs):
        if _noun(morphs[i][1]) or morphs[i][1] in ("SN", "NR"):
            j = i + 1
            while j < len(morphs) and (_noun(morphs[j][1]) or morphs[j][1] in ("SN", "NR")):
                j += 1
            runs.append((i, j))
            i = j
        else:
            i += 1
    return runs


def _number_runs(morphs: list[Lex]) -> list[tuple[int, int]]:
    """``[i, j)`` runs that say a quantity: numbers (1만 5천), numeral determiners (두), their unit."""
    out: list[tuple[int, int]] = []
    i = 0
    while i < len(morphs):
        form, tag = morphs[i][0], morphs[i][1]
        numeric = tag in ("SN", "NR") or (tag == "MM" and form in _NUMERAL_MM)
        if not numeric:
            i += 1
            continue
        j = i + 1
        while j < len(morphs):
            f, t = morphs[j][0], morphs[j][1]
            if t in ("SN", "NR") or (t == "SP" and f == "," and j + 1 < len(morphs) and morphs[j + 1][1] == "SN"):
                j += 1
            elif t in ("NNB", "SL", "SW") or (t == "NNG" and len(f) <= 2 and j == i + 1) or f in ("%", "％"):
                j += 1
                break
            else:
                break
        out.append((i, j))
        i = j
    return out


#: Units of a numbered part of a text: 제1항, 제3조 point to another part, they count nothing.
_REFERENCE_UNITS = frozenset({"조", "항", "호", "장", "절", "관", "편"})


def _reference(morphs: list[Lex], i: int, j: int) -> bool:
    """Whether the number run ``[i, j)`` is a reference to a part of the text (제1항, 제42조)."""
    prefix = morphs[i - 1] if i > 0 else None
    return (
        prefix is not None
        and prefix[0] == "제"
        and prefix[3] == morphs[i][2]
        and j - i >= 2
        and morphs[j - 1][0] in _REFERENCE_UNITS
    )


@functools.lru_cache(maxsize=16384)
def entities(text: str) -> tuple[Entity, ...]:
    """The dates/times, numbers, people/organisations and places of ``text`` (see the module
    docstring), in text order; one phrase may carry several kinds (7층: number and place)."""
    if not text.strip():
        return ()
    morphs = lex(get_kiwi().tokenize(text))
    found: list[Entity] = []

    def add(kind: AnswerType, a: int, b: int, weak: bool = False) -> None:
        while a < b and text[a] in " ([\"'‘“":
            a += 1
        while b > a and text[b - 1] in " ,.)]\"'’”:;":
            b -= 1
        if b > a:
            found.append(Entity(kind, a, b, text[a:b], weak))

    # numbers, and the numbers that are times (SN + 년/월/일/시, joined with their time words)
    for i, j in _number_runs(morphs):
        a, b = morphs[i][2], morphs[j - 1][3]
        bare = all(t in ("SN", "NR", "SP") for _, t, _, _ in morphs[i:j])
        add("number", a, b, weak=bare or _reference(morphs, i, j))
    time_spans: list[tuple[int, int]] = []
    for k, (form, tag, a, b) in enumerate(morphs):
        nxt = morphs[k + 1] if k + 1 < len(morphs) else None
        if tag == "SN" and nxt is not None and nxt[1] in ("NNB", "NNG") and nxt[0] in _TIME_UNITS and nxt[2] == b:
            time_spans.append((a, nxt[3]))
        elif tag in ("NNG", "NNP", "MAG", "MM", "NR", "NNB") and form in _TIME_WORDS:
            time_spans.append((a, b))
        elif form in ("주", "주일", "달") and time_spans and 0 <= a - time_spans[-1][1] <= 1:
            time_spans.append((a, b))  # 첫째 주, 매월 둘째 주
    time_spans.extend((m.start(), m.end()) for m in _DATE.finditer(text))
    time_spans.extend((m.start(), m.end()) for m in _WEEKDAY.finditer(text))
    for a, b in _join(sorted(time_spans), text):
        if text[a:b].strip() not in _RELATIVE_TIME:
            add("time", a, b)
    # people, organisations and places: runs of nouns
    for i, j in _runs(morphs, text):
        run = morphs[i:j]
        a, b = run[0][2], run[-1][3]
        after = morphs[j] if j < len(morphs) else None
        if _is_person(run):
            add("person", a, b, weak=all(f in _PERSON_TITLES for f, _, _, _ in run))  # 대표이사, 대통령: no name
        if _is_place(run, after):
            add("place", a, b)
    for m in _QUOTED.finditer(text):
        g = m.lastindex  # the one group of the marks that matched
        found.append(Entity("title", m.start(g), m.end(g), m.group(g), False))
    found.sort(key=lambda e: (e.start, -e.end))
    return tuple(dict.fromkeys(found))


def _is_person(run: list[Lex]) -> bool:
    tags = {t for _, t, _, _ in run}
    if "SN" in tags or "NR" in tags:
        return False
    last = run[-1][0]
    if "NNP" in tags or tags <= {"SL"}:
        return True
    if last in _PERSON_TITLES or (len(run) > 1 and last in _ORG_MORPHS):
        return True
    return len(last) >= 3 and last.endswith(_ORG_ENDINGS)


def _is_place(run: list[Lex], after: Lex | None) -> bool:
    tags = {t for _, t, _, _ in run}
    last = run[-1][0]
    if "NNP" in tags and "SN" not in tags:
        return True
    if tags <= {"SL"}:
        return True
    if len(run) > 1 and last in _PLACE_MORPHS and not any(f in _TIME_WORDS or f in _TIME_UNITS for f, _, _, _ in run):
        return True
    if len(last) >= 2 and last.endswith(_PLACE_ENDINGS):
        return True
    return after is not None and after[1] == "JKB" and after[0] == "에서" and "SN" not in tags and len(run) > 1


def _join(spans: list[tuple[int, int]], text: str, gap: str = " ~-–()토월화수목금일,") -> list[tuple[int, int]]:
    """Merge spans separated only by spaces, ranges and weekday parentheses (3월 16일(토) 오전 9시 ~ 오후 3시)."""
    out: list[list[int]] = []
    for a, b in spans:
        if out and (a <= out[-1][1] or all(ch in gap for ch in text[out[-1][1] : a])) and a - out[-1][1] <= 6:
            out[-1][1] = max(out[-1][1], b)
        else:
            out.append([a, b])
    return [(a, b) for a, b in out]


def typed(text: str, kind: AnswerType, exclude: str = "") -> list[Entity]:
    """The entities of ``kind`` in ``text`` that the question (``exclude``) does not already say.

    예: ``[e.text for e in typed("재택근무는 주 2회까지 신청할 수 있다.", "number")]`` → ``['2회']``
    """
    squeezed = "".join(exclude.split())
    out = []
    for e in entities(text):
        if e.kind != kind and not (kind == "number" and e.kind == "time" and any(c.isdigit() for c in e.text)):
            continue
        if squeezed and "".join(e.text.split()) in squeezed:
            continue
        out.append(e)
    return out


#: Labels that announce a value of a type (``일시: 3월 16일``, a table column named 담당).
_TIME_LABELS = "일시 일정 날짜 일자 기간 기한 시간 시기 마감 마감일 시한 시각 운영시간"
_PLACE_LABELS = "장소 위치 곳 주소 회의실 장소명 개최지"
_PERSON_LABELS = (
    "담당 담당자 담당부서 문의 문의처 작성 작성자 참석 참석자 주관 주최 책임자 발표자 업체 기관 부서 성명 이름"
)
_NUMBER_LABELS = "금액 비용 가격 예산 요금 인원 수량 규모 한도 용량 일수 점수 수 횟수 금리"
LABELS: dict[AnswerType, frozenset[str]] = {
    "time": frozenset(_TIME_LABELS.split()),
    "place": frozenset(_PLACE_LABELS.split()),
    "person": frozenset(_PERSON_LABELS.split()),
    "number": frozenset(_NUMBER_LABELS.split()),
}
_LABEL = re.compile(r"^\s*(?:[^\s:：]{1,3}\s+)?([가-힣A-Za-z][가-힣A-Za-z ]{0,9}?)\s*[:：]")


def label_type(label: str) -> AnswerType | None:
    """The type of value a label announces (``일시`` → ``time``), or None.

    예: ``label_type("담당")`` → ``'person'``
    """
    label = " ".join(label.split())
    last = label.rsplit(" ", 1)[-1]
    for kind, names in LABELS.items():
        if label in names or label.replace(" ", "") in names or last in names:
            return kind
    return None


def labelled(text: str) -> tuple[str, int] | None:
    """``(label, offset where its value starts)`` of a ``label: value`` line (``1. 일시: 3월 16일``).

    예: ``labelled("- 장소: 본사 7층")`` → ``('장소', 6)``
    """
    m = _LABEL.match(text)
    if m is None:
        return None
    end = m.end()
    while end < len(text) and text[end] == " ":
        end += 1
    return m.group(1).strip(), end
