"""The ``rabbit-rag`` command groups. Each command lives in its own module and registers itself here;
:mod:`rabbit_rag.cli.main` imports them all and runs the app.

Every command takes ``--help``. ``--json`` prints exactly one JSON object on stdout; progress and
notices go to stderr.

Help is plain text (click's formatter, not rich panels): it wraps at word boundaries to the
terminal's width with hanging indents, names arguments as ``QUERY`` and ``PATH...`` and options
as ``--index PATH``, and shows no types (``<bool>``, ``<list[Path]>``) — what a reader expects from
``--help``, in a terminal or pasted into an issue.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from typer.core import TyperCommand, TyperGroup

from rabbit_rag.cli.common import use_config

#: The order commands are listed in ``rabbit-rag --help``: the order a new user needs them.
COMMAND_ORDER = ("ingest", "search", "ask", "chat", "serve", "keys", "config", "eval")


def _metavar(param: Any) -> str:
    """``PATH``, ``N``, ``NUMBER`` or ``TEXT`` for an option that does not name its own metavar."""
    if param.metavar:
        return str(param.metavar)
    desc = param.type_descriptor
    if desc.is_path:
        return "PATH"
    annotation = desc.annotation
    return {int: "N", float: "NUMBER"}.get(annotation, "TEXT") if isinstance(annotation, type) else "TEXT"


def _argument_name(param: Any) -> str:
    name = str(param.metavar or param.name).upper()
    return name + ("..." if param.nargs != 1 else "")


def _help_rows(command: Any, ctx: Any) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    arguments: list[tuple[str, str]] = []
    options: list[tuple[str, str]] = []
    for param in command.get_params(ctx):
        if getattr(param, "hidden", False):
            continue
        text = (param.help or "").strip()
        if param.required:
            text = f"{text} [required]".strip()
        if param.param_type_name == "argument":
            arguments.append((_argument_name(param), text))
            continue
        names = ", ".join(sorted(param.opts, key=lambda o: (o.startswith("--"), o)))
        if not getattr(param, "is_flag", False):
            names += f" {_metavar(param)}"
        options.append((names, text))
    return arguments, options


def _usage_pieces(command: Any, ctx: Any) -> list[str]:
    pieces = ["[OPTIONS]"]
    for param in command.get_params(ctx):
        if param.param_type_name == "argument":
            name = _argument_name(param)
            pieces.append(name if param.required else f"[{name}]")
    return pieces


def _no_hyphen_breaks() -> None:
    """Wrap help text at spaces only: ``rabbit-rag``, ``OpenAI-compatible`` and ``BY-ND`` are never
    cut at their hyphen. (typer's vendored click makes its TextWrapper at each call, so swapping the
    class is enough; with another typer the default wrapping stays, which is only less tidy.)"""
    try:
        from typer._click import _textwrap
    except ImportError:  # pragma: no cover - another typer layout
        return
    base = _textwrap.TextWrapper
    if getattr(base, "rabbit_rag_no_hyphen_breaks", False):
        return

    class Wrapper(base):  # type: ignore[valid-type,misc]
        rabbit_rag_no_hyphen_breaks = True

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs.setdefault("break_on_hyphens", False)
            super().__init__(*args, **kwargs)

    _textwrap.TextWrapper = Wrapper


def _write_rows(formatter: Any, title: str, rows: list[tuple[str, str]]) -> None:
    if rows:
        with formatter.section(title):
            formatter.write_dl(rows)


class Command(TyperCommand):
    """A command whose ``--help`` reads cleanly (see the module docstring)."""

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        return _usage_pieces(self, ctx)

    def format_help(self, ctx: Any, formatter: Any) -> None:
        _no_hyphen_breaks()
        super().format_help(ctx, formatter)

    def format_options(self, ctx: Any, formatter: Any) -> None:
        arguments, options = _help_rows(self, ctx)
        _write_rows(formatter, "Arguments", arguments)
        _write_rows(formatter, "Options", options)


class Group(TyperGroup):
    """A command group whose ``--help`` reads cleanly (see the module docstring)."""

    def format_help(self, ctx: Any, formatter: Any) -> None:
        _no_hyphen_breaks()
        super().format_help(ctx, formatter)

    def format_options(self, ctx: Any, formatter: Any) -> None:
        _write_rows(formatter, "Options", _help_rows(self, ctx)[1])
        self.format_commands(ctx, formatter)

    def list_commands(self, ctx: Any) -> list[str]:
        names = super().list_commands(ctx)
        rank = {name: i for i, name in enumerate(COMMAND_ORDER)}
        return sorted(names, key=lambda n: rank.get(n, len(rank)))


class _Typer(typer.Typer):
    """A Typer app whose commands are :class:`Command` and groups :class:`Group`, with plain help."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("cls", Group)
        kwargs.setdefault("rich_markup_mode", None)
        kwargs.setdefault("no_args_is_help", True)
        kwargs.setdefault("context_settings", {"help_option_names": ["-h", "--help"], "max_content_width": 100})
        super().__init__(**kwargs)

    def command(self, *args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("cls", Command)
        return super().command(*args, **kwargs)


app = _Typer(
    name="rabbit-rag",
    help=(
        "Korean retrieval-augmented generation: search and ask your documents,\n"
        "with answers that cite the exact characters they rest on.\n\n"
        "\b\nQuick start:\n"
        "  rabbit-rag ingest samples --index indexes/sample --embed-model none\n"
        '  rabbit-rag search "대통령 임기는 몇 년이야?" --index indexes/sample\n'
        '  rabbit-rag ask "국회의원 임기는?" --index indexes/sample --llm extractive\n'
        "  rabbit-rag chat --index indexes/sample --llm extractive"
    ),
    add_completion=False,
    pretty_exceptions_enable=False,
)
eval_app = _Typer(help="Measure retrieval and answers on KorQuAD 1.0.")
app.add_typer(eval_app, name="eval")
keys_app = _Typer(help="API keys for `rabbit-rag serve` (stored hashed in a keys file).")
app.add_typer(keys_app, name="keys")


@app.callback()
def _global_options(
    config: Path | None = typer.Option(
        None,
        "--config",
        metavar="PATH",
        envvar="RABBIT_RAG_CONFIG",
        help="Settings file (TOML; default: rabbit-rag.toml in the working directory). "
        "RABBIT_RAG_* variables override it; `rabbit-rag config` shows the result.",
    ),
) -> None:
    use_config(config)
