"""`rabbit-rag chat`: driven through stdin, as a person or a pipe would."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rabbit_rag.cli.chat import Chat
from rabbit_rag.cli.main import app
from rabbit_rag.engine import Engine, TokenEvent

runner = CliRunner()


def _chat(index: Path, lines: list[str], *extra: str):
    return runner.invoke(
        app, ["chat", "--index", str(index), "--llm", "extractive", *extra], input="\n".join(lines) + "\n"
    )


def test_a_conversation_with_follow_ups_sources_and_reset(
    sample_index_ro: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import rabbit_rag.components as components

    opened: list[Path] = []
    real_open = components.open_index_from_settings
    monkeypatch.setattr(components, "open_index_from_settings", lambda s, p: opened.append(Path(p)) or real_open(s, p))
    result = _chat(
        sample_index_ro,
        [
            "대통령 임기는 몇 년이야?",
            "그럼 국회의원은?",
            "/sources",
            "",
            "/reset",
            "그럼 국회의원은?",
            "/quit",
            "never asked",
        ],
    )
    assert result.exit_code == 0, result.stderr
    assert opened == [sample_index_ro]  # loads once for the whole conversation
    out = result.stdout
    first, second = out.index("대통령의 임기는 5년"), out.index("국회의원의 임기는 4년")
    assert first < second  # the follow-up was understood after the first turn
    assert out.count("출처:") == 3  # citations after each answer
    assert "[1] samples/constitution.txt [5926:5949]\n    “제42조 국회의원의 임기는 4년으로 한다.”" in out
    # /sources: the numbered passages of the last answer, with scores and offsets
    sources = out[out.index("출처:", second) :]
    assert "\n[1] " in sources and "\n[5] " in sources and "samples/constitution.txt [5926:5949]" in sources
    assert "대화를 새로 시작합니다" in result.stderr
    assert "never asked" not in out and result.stderr.count("(extractive, ") == 3


def test_end_of_input_ends_the_chat_and_errors_do_not(sample_index_ro: Path) -> None:
    result = _chat(sample_index_ro, ["/sources", "가" * 5000, "/nope", "국회의원 임기는?"])  # no /quit: Ctrl-D
    assert result.exit_code == 0, result.stderr
    assert "no answer yet" in result.stderr
    assert "error: the question has 5000 characters" in result.stderr  # and the chat goes on
    assert "unknown command /nope" in result.stderr and "/reset" in result.stderr
    assert "국회의원의 임기는 4년" in result.stdout


def test_a_missing_index_is_an_error_before_the_prompt(tmp_path: Path) -> None:
    result = _chat(tmp_path / "nope", ["질문"])
    assert result.exit_code == 1 and "rabbit-rag ingest" in result.stderr


class _Interrupting:
    """A session whose answer is interrupted (Ctrl-C) after its first piece."""

    def __init__(self) -> None:
        self.closed = False
        self.resets = 0

    def stream(self, question: str) -> Iterator[TokenEvent]:
        def events() -> Iterator[TokenEvent]:
            try:
                yield TokenEvent("국회의원의 ")
                raise KeyboardInterrupt
            finally:
                self.closed = True

        return events()

    def reset(self) -> None:
        self.resets += 1


def test_ctrl_c_stops_the_answer_and_at_the_prompt_leaves() -> None:
    lines = iter(["국회의원 임기는?"])
    said: list[str] = []
    written: list[str] = []

    def read() -> str:
        try:
            return next(lines)
        except StopIteration:
            raise KeyboardInterrupt from None  # Ctrl-C at the prompt

    session = _Interrupting()
    status = Chat(session, read, written.append, said.append).run()  # type: ignore[arg-type]
    assert status == 130 and session.closed
    assert "".join(written).startswith("국회의원의 ") and any("answer stopped" in s for s in said)


def test_through_a_pipe(sample_index_ro: Path) -> None:
    """The console script itself, questions on stdin (a subprocess: real stdin, not a test runner's)."""
    done = subprocess.run(
        [sys.executable, "-m", "rabbit_rag", "chat", "--index", str(sample_index_ro), "--llm", "extractive"],
        input="대통령 임기는 몇 년이야?\n그럼 국회의원은?\n",
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    assert done.returncode == 0, done.stderr
    assert "대통령의 임기는 5년" in done.stdout and "국회의원의 임기는 4년" in done.stdout
    assert "rabbit-rag chat:" in done.stderr and "BM25 only" in done.stderr


def test_engine_chat_is_what_the_command_uses(sample_index_ro: Path) -> None:
    engine = Engine.from_index(sample_index_ro, "extractive")
    said: list[str] = []
    out: list[str] = []
    questions = iter(["대통령 임기는 몇 년이야?", "그럼 국회의원은?", "/quit"])
    assert Chat(engine.chat(), lambda: next(questions), out.append, said.append).run() == 0
    assert "국회의원의 임기는 4년" in "".join(out)
