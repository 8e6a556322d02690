"""`--help` reads cleanly: no type tags, no braces, nothing cut mid-word or mid-sentence, 80 columns."""

from __future__ import annotations

import re
import unicodedata

import pytest
from typer.testing import CliRunner

from rabbit_rag.cli.main import app

runner = CliRunner()
GROUPS = [[], ["eval"], ["keys"]]
COMMANDS = [
    ["ingest"], ["search"], ["ask"], ["chat"], ["serve"], ["config"],
    ["eval", "retrieval"], ["eval", "answers"], ["keys", "create"], ["keys", "list"], ["keys", "revoke"],
]  # fmt: skip


def columns(line: str) -> int:
    """Display width: Hangul and other wide characters take two columns."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in line)


@pytest.mark.parametrize("argv", GROUPS + COMMANDS, ids=lambda a: " ".join(a) or "rabbit-rag")
def test_help_reads_cleanly(argv: list[str]) -> None:
    result = runner.invoke(app, [*argv, "--help"], env={"COLUMNS": "80"}, terminal_width=80)
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert text.startswith(f"Usage: rabbit-rag {' '.join(argv)}".rstrip() + " [OPTIONS]")
    for bad in ("<bool>", "<str>", "<int>", "<path>", "list[", "......", "╭", "│"):  # type tags, rich boxes
        assert bad not in text, (bad, text)
    assert not re.search(r"\{[a-z_]+\}", text), text  # typer's {paths}... for a required argument
    for line in text.splitlines():
        assert columns(line) <= 80, line
        assert not re.search(r"\w-$", line), f"cut at a hyphen: {line!r}"
    if argv in GROUPS:  # each command's one-line summary is whole, not cut off with "..."
        listed = text[text.index("Commands:") :].splitlines()[1:]
        assert listed and all(not line.rstrip().endswith("...") for line in listed), listed


def test_usage_names_arguments_and_option_values() -> None:
    ingest = runner.invoke(app, ["ingest", "--help"], terminal_width=80).stdout
    assert "Usage: rabbit-rag ingest [OPTIONS] PATH..." in ingest
    assert "-i, --index PATH" in ingest and "--embed-model MODEL" in ingest
    assert re.search(r"^  --sync +Also", ingest, flags=re.M)  # a flag takes no value
    search = runner.invoke(app, ["search", "--help"], terminal_width=80).stdout
    assert "Usage: rabbit-rag search [OPTIONS] QUERY" in search and "-k, --top-k N" in search
