"""What every command shares: settings, error handling, JSON output."""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Iterator
from typing import Any

import typer
from pydantic import ValidationError

from rabbit_rag.backends import parse_backend
from rabbit_rag.components import configure_process
from rabbit_rag.errors import RabbitRagError
from rabbit_rag.settings import Settings

INDEX_ROOT_HELP = "Folder holding one index folder per collection (default: RABBIT_RAG_INDEX_ROOT, else indexes)."
BACKEND_HELP = (
    "Search backend: local (the index folder), milvus:///path/engine.db (Milvus Lite) or milvus://host:19530 "
    "(a Milvus server or cluster). With an engine, --index names the collection (its folder name) and readers "
    "need no local files. Default: RABBIT_RAG_BACKEND, else local. See docs/scaling.md."
)


def settings(backend: str | None = None) -> Settings:
    """Settings from the ``RABBIT_RAG_*`` environment (``backend``, from ``--backend``, overrides
    ``RABBIT_RAG_BACKEND``); a value that does not parse is a clear error naming the variable (exit 2),
    not a traceback."""
    try:
        s = Settings()
    except ValidationError as e:
        for problem in e.errors():
            name = "RABBIT_RAG_" + "_".join(str(part) for part in problem["loc"]).upper()
            err(f"error: {name}={problem.get('input')!r}: {problem['msg']}")
        err("Fix or unset these environment variables (`rabbit-rag ask --help` and docs/ask.md list the settings).")
        raise typer.Exit(2) from None
    if backend is not None:
        s = s.model_copy(update={"backend": backend})
    try:
        parse_backend(s.backend)
    except RabbitRagError as e:
        err(f"error: {e}")
        raise typer.Exit(2) from None
    configure_process(s)
    return s


def print_json(obj: Any) -> None:
    """One JSON object on stdout (UTF-8, Korean unescaped)."""
    sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def err(message: str) -> None:
    typer.echo(message, err=True)


@contextlib.contextmanager
def cli_errors(as_json: bool = False) -> Iterator[None]:
    """Turn our errors into a one-line message (and a JSON error object with ``--json``) and exit 1;
    Ctrl-C exits 130 after saying what state the index is in."""
    try:
        yield
    except RabbitRagError as e:
        if as_json:
            print_json({"error": {"type": type(e).__name__, "message": str(e)}})
        err(f"error: {e}")
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        err("interrupted: nothing after the last checkpoint was written; the index stays readable as it was")
        raise typer.Exit(130) from None
