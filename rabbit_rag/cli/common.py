"""What every command shares: settings, error handling, JSON output."""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import typer

from rabbit_rag.errors import RabbitRagError

if TYPE_CHECKING:
    from rabbit_rag.settings import Settings

INDEX_ROOT_HELP = "Folder holding one index folder per collection (default: RABBIT_RAG_INDEX_ROOT, else indexes)."


def settings() -> Settings:
    """Settings from the ``RABBIT_RAG_*`` environment; a value that does not parse is a clear error
    naming the variable (exit 2), not a traceback."""
    from pydantic import ValidationError

    from rabbit_rag.components import configure_process
    from rabbit_rag.settings import Settings

    try:
        s = Settings()
    except ValidationError as e:
        for problem in e.errors():
            name = "RABBIT_RAG_" + "_".join(str(part) for part in problem["loc"]).upper()
            err(f"error: {name}={problem.get('input')!r}: {problem['msg']}")
        err("Fix or unset these environment variables (`rabbit-rag ask --help` and docs/ask.md list the settings).")
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
