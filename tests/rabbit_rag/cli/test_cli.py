"""The rabbit-rag command line: JSON shapes, human output, errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from rabbit_rag.cli.main import app
from tests.conftest import SAMPLES

runner = CliRunner()

SEARCH_KEYS = {"rank", "score", "chunk_id", "doc_id", "source", "page", "start", "end", "text"}


def _json(result) -> dict:
    assert result.exit_code == 0, result.output
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    assert len(lines) == 1, result.stdout  # exactly one JSON object on stdout
    return json.loads(lines[0])


def test_ingest_then_search_json(tmp_path: Path) -> None:
    index = tmp_path / "I"
    out = _json(runner.invoke(app, ["ingest", str(SAMPLES), "--index", str(index), "--embed-model", "none", "--json"]))
    assert out["added"] == 12 and out["updated"] == 0 and out["failed"] == []
    assert set(out) >= {"index", "added", "updated", "unchanged", "removed", "skipped", "failed", "counts"}

    res = _json(runner.invoke(app, ["search", "대통령 임기는 몇 년이야?", "--index", str(index), "--json"]))
    assert res["query"] == "대통령 임기는 몇 년이야?"
    first = res["results"][0]
    assert set(first) == SEARCH_KEYS and first["rank"] == 1
    assert "대통령의 임기는 5년" in first["text"]
    assert first["source"] == "samples/constitution.txt" and first["page"] is None

    again = _json(
        runner.invoke(app, ["ingest", str(SAMPLES), "--index", str(index), "--embed-model", "none", "--json"])
    )
    assert (again["added"], again["updated"], again["unchanged"]) == (0, 0, 12)


def test_human_output_and_notice(sample_index_ro: Path) -> None:
    result = runner.invoke(app, ["search", "국회의원 임기", "--index", str(sample_index_ro), "-k", "2"])
    assert result.exit_code == 0
    assert result.stdout.startswith(" 1. ") and "samples/constitution.txt" in result.stdout
    assert result.stderr == ""  # the index is BM25-only on purpose: the default mode needs no notice
    asked = runner.invoke(app, ["search", "국회의원 임기", "--index", str(sample_index_ro), "--mode", "hybrid"])
    assert asked.exit_code == 0 and asked.stderr.count("answered with BM25 only") == 1
    dense = runner.invoke(app, ["search", "국회의원 임기", "--index", str(sample_index_ro), "--mode", "dense"])
    assert dense.exit_code == 1 and dense.stdout == ""
    assert "dense search is not possible" in dense.stderr and "no vectors" in dense.stderr


def test_errors_are_one_line_and_exit_1(tmp_path: Path) -> None:
    result = runner.invoke(app, ["search", "질문", "--index", str(tmp_path / "nope"), "--json"])
    assert result.exit_code == 1
    assert json.loads(result.stdout)["error"]["type"] == "IndexNotFoundError"
    assert "rabbit-rag ingest" in result.stderr
    empty = runner.invoke(app, ["search", "   ", "--index", str(tmp_path / "nope")])
    assert empty.exit_code == 1
    bad_mode = runner.invoke(app, ["search", "질문", "--index", str(tmp_path / "nope"), "-m", "fuzzy"])
    assert bad_mode.exit_code == 1


def test_bad_settings_name_the_variable_and_empty_ones_mean_unset(sample_index_ro: Path, monkeypatch) -> None:
    monkeypatch.setenv("RABBIT_RAG_TOP_K", "0")
    monkeypatch.setenv("RABBIT_RAG_LLM_MAX_CONTEXT", "abc")
    bad = runner.invoke(app, ["search", "국회의원 임기", "--index", str(sample_index_ro)])
    assert bad.exit_code == 2
    assert "RABBIT_RAG_TOP_K='0'" in bad.stderr and "RABBIT_RAG_LLM_MAX_CONTEXT='abc'" in bad.stderr
    assert "Traceback" not in bad.stderr
    monkeypatch.setenv("RABBIT_RAG_TOP_K", "")  # `export VAR=`: not set
    monkeypatch.setenv("RABBIT_RAG_LLM_MAX_CONTEXT", "")
    ok = runner.invoke(app, ["search", "국회의원 임기", "--index", str(sample_index_ro), "--json"])
    assert ok.exit_code == 0 and len(json.loads(ok.stdout)["results"]) == 5


def test_console_script_help() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "rabbit_rag.cli.main", "--help"], capture_output=True, text=True, check=True
    ).stdout
    for command in ("ingest", "search", "eval"):
        assert command in out
