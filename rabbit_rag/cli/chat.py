"""``rabbit-rag chat``: a multi-turn conversation with an index in the terminal.

Everything loads once — the index, Kiwi, the generator (and its model) — and every question after
the first costs only retrieval and generation. Follow-up questions (``그럼 국회의원은?``) are
understood after the earlier turns (:class:`rabbit_rag.engine.ChatSession`). Answers stream to stdout,
each followed by its citations; notices and timings go to stderr.

Commands: ``/sources`` (the passages the last answer was given), ``/reset`` (forget the
conversation), ``/help``, ``/quit``. Ctrl-D or ``/quit`` ends the chat; Ctrl-C stops an answer
being written (the turn is forgotten) and, at the prompt, ends the chat.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

import typer

from rabbit_rag.cli.app import app
from rabbit_rag.cli.common import (
    AskModeOption,
    AskTopKOption,
    BackendOption,
    IndexOption,
    LlmOption,
    ModelOption,
    cli_errors,
    err,
    settings,
)
from rabbit_rag.cli.render import citation_lines, source_lines
from rabbit_rag.errors import RabbitRagError

if TYPE_CHECKING:
    from rabbit_rag.engine import Answer, ChatSession

PROMPT = "질문> "
HELP = (
    "/sources  the passages of the last answer\n"
    "/reset    forget the conversation (start a new topic)\n"
    "/quit     leave (or Ctrl-D)\n"
    "Ctrl-C stops an answer being written."
)


class Chat:
    """The read–answer loop, apart from the terminal so that tests can drive it.

    ``read`` returns the next line (raising ``EOFError`` at the end of input and ``KeyboardInterrupt``
    on Ctrl-C); ``write`` prints answer text (stdout) and ``say`` prints everything else (stderr).
    """

    def __init__(
        self,
        session: ChatSession,
        read: Callable[[], str],
        write: Callable[[str], None],
        say: Callable[[str], None],
    ) -> None:
        self.session = session
        self.read = read
        self.write = write
        self.say = say
        self.last: Answer | None = None

    def run(self) -> int:
        """Answer until ``/quit``, end of input or Ctrl-C at the prompt; the exit status."""
        while True:
            try:
                line = self.read()
            except EOFError:
                self.say("")  # end the prompt's line
                return 0
            except KeyboardInterrupt:
                self.say("")
                return 130
            line = line.strip()
            if not line:
                continue
            if line.startswith("/"):
                if self.command(line) == "quit":
                    return 0
                continue
            self.answer(line)

    def command(self, line: str) -> str | None:
        name = line.split()[0].lower()
        if name in ("/quit", "/exit", "/q"):
            return "quit"
        if name == "/reset":
            self.session.reset()
            self.last = None
            self.say("대화를 새로 시작합니다. (the conversation is forgotten)")
        elif name == "/sources":
            if self.last is None:
                self.say("no answer yet: ask a question first")
            elif not self.last.sources:
                self.say("the last answer had no sources (nothing was retrieved)")
            else:
                self.write("\n".join(source_lines(self.last.sources)) + "\n")
        elif name in ("/help", "/?"):
            self.say(HELP)
        else:
            self.say(f"unknown command {name}; the commands are:\n{HELP}")
        return None

    def answer(self, question: str) -> None:
        from rabbit_rag.engine import DoneEvent, TokenEvent

        events = None
        answer: Answer | None = None
        try:
            events = self.session.stream(question)
            for event in events:
                if isinstance(event, TokenEvent):
                    self.write(event.text)
                elif isinstance(event, DoneEvent):
                    answer = event.answer
        except KeyboardInterrupt:
            if events is not None:
                events.close()  # stops the generation; the turn is not remembered
            self.write("\n")
            self.say("(answer stopped; this turn is forgotten)")
            return
        except RabbitRagError as e:  # a question too long, a model server that failed: the chat goes on
            self.write("\n")
            self.say(f"error: {e}")
            return
        if answer is None:  # a stream always ends with DoneEvent; say so rather than show a stale answer
            self.say("error: the answer ended without its citations")
            return
        self.last = answer
        self.write("\n" + "".join(f"{line}\n" for line in citation_lines(answer.citations)) + "\n")
        for note in answer.notes:
            self.say(f"rabbit-rag: {note}")
        total = answer.timings.get("total_ms")
        self.say(f"({answer.generator}" + (f", {total:.0f} ms)" if total is not None else ")"))


def _terminal_reader() -> Callable[[], str]:
    """Lines from stdin: with a prompt and line editing (readline) on a terminal, plain otherwise."""
    if sys.stdin.isatty():
        with contextlib.suppress(ImportError):  # Windows without pyreadline: no line editing
            import readline  # noqa: F401 - importing it gives input() editing and history
        return lambda: input(PROMPT)

    def read() -> str:
        line = sys.stdin.readline()
        if not line:
            raise EOFError
        return line

    return read


def _write(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()


@app.command()
def chat(
    index: IndexOption,
    llm: LlmOption = None,
    k: AskTopKOption = None,
    mode: AskModeOption = None,
    model: ModelOption = None,
    backend: BackendOption = None,
) -> None:
    """Chat with an index: follow-up questions, answers with citations.

    Everything loads once, so every question after the first is quick. Type a question and press
    Enter; /sources shows the passages of the last answer, /reset starts a new topic, /quit (or
    Ctrl-D) leaves. Ctrl-C stops an answer being written. Questions can also come from a pipe, one
    per line.

    \b
    Examples:
      rabbit-rag chat --index indexes/sample --llm extractive
      printf '대통령 임기는?\\n국회의원은?\\n' | rabbit-rag chat -i indexes/sample
    """
    from rabbit_rag.components import engine_from_settings, open_index_from_settings
    from rabbit_rag.text.kiwi import get_kiwi

    s = settings(backend)
    with cli_errors():
        idx = open_index_from_settings(s, index)
        engine = engine_from_settings(s, idx, llm=llm, mode=mode, k=k, model=model)
        get_kiwi().tokenize("준비")  # kiwipiepy builds its analyzer on the first call: now, not in the first answer
    counts = idx.counts()
    vectors = f"{counts.get('vectors', 0)} vectors" if idx.has_vectors else "BM25 only"
    err(
        f"rabbit-rag chat: {index} ({counts.get('documents', 0)} documents, {vectors}; {engine.generator.name}). "
        "Ask in Korean; /help lists the commands, /quit leaves."
    )
    status = Chat(engine.chat(), _terminal_reader(), _write, err).run()
    if status:
        raise typer.Exit(status)
