"""What every command shares: settings, error handling, JSON output."""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from rabbit_rag.errors import RabbitRagError
from rabbit_rag.limits import MAX_ASK_K

if TYPE_CHECKING:
    from rabbit_rag.settings import Settings

#: The modules each optional extra installs (pyproject.toml), to tell a missing extra from a bug.
EXTRA_MODULES: dict[str, frozenset[str]] = {
    "api": frozenset({"fastapi", "starlette", "uvicorn", "multipart", "python_multipart", "prometheus_client"}),
}

INDEX_ROOT_HELP = "Folder holding one index folder per collection (default: RABBIT_RAG_INDEX_ROOT, else indexes)."
BACKEND_HELP = (
    "Search backend: local (the index folder), milvus:///path/engine.db (Milvus Lite) or milvus://host:19530 "
    "(a Milvus server or cluster). With an engine, --index names the collection (its folder name) and readers "
    "need no local files. Default: RABBIT_RAG_BACKEND, else local. See docs/scaling.md."
)

# The options several commands share, declared once so that their names, limits and help stay the same
# everywhere (``index: IndexOption`` in a command's signature; typer reads the ``Annotated`` metadata).
IndexOption = Annotated[Path, typer.Option("--index", "-i", help="Index folder made by `rabbit-rag ingest`.")]
BackendOption = Annotated[str | None, typer.Option("--backend", metavar="URI", help=BACKEND_HELP)]
LlmOption = Annotated[
    str | None,
    typer.Option(
        "--llm",
        metavar="KIND",
        help="auto (the transformers model if it loads, else extractive), transformers, openai or extractive "
        "(no language model). Default: RABBIT_RAG_LLM, else auto.",
    ),
]
AskTopKOption = Annotated[
    int | None,
    typer.Option(
        "-k",
        "--top-k",
        min=1,
        max=MAX_ASK_K,
        help="Passages retrieved as sources for each question (default: RABBIT_RAG_ASK_TOP_K, 5).",
    ),
]
AskModeOption = Annotated[
    str | None,
    typer.Option(
        "--mode", "-m", metavar="MODE", help="Retrieval: hybrid, bm25 or dense (default: RABBIT_RAG_ASK_MODE, hybrid)."
    ),
]
ModelOption = Annotated[
    str | None,
    typer.Option(
        "--model", metavar="MODEL", help="Chat model id or folder (transformers) or served model name (openai)."
    ),
]


#: The config file named by ``rabbit-rag --config PATH`` (or ``RABBIT_RAG_CONFIG``) for this invocation;
#: None: ``rabbit-rag.toml`` in the working directory when it is there.
_config_path: list[Path | None] = [None]


def use_config(path: Path | None) -> None:
    """Remember the ``--config`` file for :func:`settings` (the app's callback, once per invocation)."""
    _config_path[0] = path


def config_path() -> Path | None:
    return _config_path[0]


def settings(backend: str | None = None) -> Settings:
    """The effective settings: ``RABBIT_RAG_*`` variables over the config file over the defaults;
    ``backend`` (from ``--backend``) overrides both for ``backend``.

    A value that does not parse, a key in the file that is not a setting, a missing ``--config``
    file or a backend URI that does not parse is a clear error naming the variable or the file
    (exit 2), not a traceback."""
    from pydantic import ValidationError

    from rabbit_rag.backends import parse_backend
    from rabbit_rag.components import configure_process
    from rabbit_rag.settings import Settings, config_file, setting_sources

    try:
        s = Settings.load(config_path())
    except RabbitRagError as e:
        err(f"error: {e}")
        raise typer.Exit(2) from None
    except ValidationError as e:
        sources = setting_sources(config_file(config_path()))
        for problem in e.errors():
            name = str(problem["loc"][0]) if problem["loc"] else ""
            source = sources.get(name, "default")
            where = source if source.startswith("RABBIT_RAG_") else f"{source}: {name}"
            err(f"error: {where}={problem.get('input')!r}: {problem['msg']}")
        err("Fix or unset these settings (`rabbit-rag config` lists every setting and where it comes from).")
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
def needs_extra(extra: str, command: str) -> Iterator[None]:
    """Turn the import error of a missing optional extra into one line that names the extra and the
    command that installs it (exit 1). Other import errors stay errors."""
    try:
        yield
    except ModuleNotFoundError as e:
        top = (e.name or "").split(".")[0]
        if top not in EXTRA_MODULES[extra]:
            raise
        err(
            f"error: `rabbit-rag {command}` needs the {extra!r} extra ({top} is not installed). "
            f'Install it from the source checkout: pip install -e ".[{extra}]"'
        )
        raise typer.Exit(1) from None


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
