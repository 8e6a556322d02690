"""``rabbit-rag ask``."""

from __future__ import annotations

import sys
from typing import Annotated

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
    print_json,
    settings,
)
from rabbit_rag.cli.render import citation_lines


@app.command()
def ask(
    question: Annotated[
        str, typer.Argument(metavar="QUESTION", help="The question, in Korean (or any language the documents use).")
    ],
    index: IndexOption,
    llm: LlmOption = None,
    k: AskTopKOption = None,
    mode: AskModeOption = None,
    model: ModelOption = None,
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object: {question, answer, generator, ...}."),
    backend: BackendOption = None,
) -> None:
    """Answer a question from an index, citing the exact passages.

    The answer streams to the terminal, then each citation is listed with its source, character
    offsets and quoted sentence. Notices (e.g. a fallback to the extractive answerer) go to stderr.
    For follow-up questions, use `rabbit-rag chat`.

    \b
    Examples:
      rabbit-rag ask "국회의원 임기는?" --index indexes/sample --llm extractive
      rabbit-rag ask "육아휴직 대상 나이는?" -i indexes/sample --llm openai --json
    """
    from rabbit_rag.components import engine_from_settings, open_index_from_settings
    from rabbit_rag.engine import DoneEvent, TokenEvent, check_question

    s = settings(backend)
    answer = None
    with cli_errors(as_json):
        check_question(question, s.max_question_chars)  # before loading anything
        idx = open_index_from_settings(s, index)
        engine = engine_from_settings(s, idx, llm=llm, mode=mode, k=k, model=model)
        if as_json:
            answer = engine.ask(question)
        else:
            for event in engine.stream(question):
                if isinstance(event, TokenEvent):
                    sys.stdout.write(event.text)
                    sys.stdout.flush()
                elif isinstance(event, DoneEvent):
                    answer = event.answer
    assert answer is not None
    if not as_json:
        typer.echo("")  # end the streamed line before any notice
    for note in answer.notes:
        err(f"rabbit-rag: {note}")
    if answer.dropped_citations:
        err(f"rabbit-rag: dropped citation numbers that name no source: {answer.dropped_citations}")
    if as_json:
        print_json(answer.to_dict())
        return
    for line in citation_lines(answer.citations):
        typer.echo(line)
    total = answer.timings.get("total_ms")
    err(f"({answer.generator}" + (f", {total:.0f} ms)" if total is not None else ")"))
