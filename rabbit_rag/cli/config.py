"""``rabbit-rag config``: the effective settings and where each came from."""

from __future__ import annotations

import json
from typing import Any

import typer

from rabbit_rag.cli.app import app
from rabbit_rag.cli.common import config_path, print_json, settings


def _toml_value(value: Any) -> str:
    """A value as TOML, so a printed line can be pasted into rabbit-rag.toml."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return json.dumps(str(value), ensure_ascii=False)  # a TOML basic string


def _plain(value: Any) -> Any:
    from pydantic import SecretStr

    if isinstance(value, SecretStr):
        return "**********"  # set, and not shown
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


@app.command("config")
def config(
    as_json: bool = typer.Option(
        False, "--json", help='Print {"config_file", "settings": {name: {"value", "source"}}}.'
    ),
) -> None:
    """Print the effective settings and where each came from.

    Sources, strongest first: a RABBIT_RAG_<NAME> environment variable, the config file
    (rabbit-rag.toml in the working directory, or rabbit-rag --config PATH), the built-in default.
    The output is TOML: paste any line into rabbit-rag.toml. Secrets are not shown.

    Examples:

      rabbit-rag config

      RABBIT_RAG_TOP_K=10 rabbit-rag --config deploy.toml config --json
    """
    from rabbit_rag.settings import config_file, setting_sources

    s = settings()
    path = config_file(config_path())
    sources = setting_sources(path)
    values = {name: _plain(getattr(s, name)) for name in type(s).model_fields}
    if as_json:
        print_json(
            {
                "config_file": str(path) if path else None,
                "settings": {n: {"value": v, "source": sources[n]} for n, v in values.items()},
            }
        )
        return
    typer.echo(f"# config file: {path if path else 'none (no rabbit-rag.toml here)'}")
    typer.echo("# strongest first: RABBIT_RAG_* environment variables, the config file, the defaults")
    width = max(len(f"{n} = {_toml_value(v)}") for n, v in values.items() if v is not None)
    for name, value in values.items():
        line = f"# {name} = (not set)" if value is None else f"{name} = {_toml_value(value)}"
        typer.echo(f"{line:<{width}}  # {sources[name]}")
