"""The first answer's path: `search` and `ask --llm extractive` on a BM25-only index import no model
libraries (their time is measured by benchmarks/first_answer.py, not here)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

MODEL_LIBRARIES = ("torch", "transformers", "sentence_transformers", "faiss")
#: bm25s builds the BM25 matrix at ingest; scoring a query needs numpy only (rabbit_rag/index/bm25.py)
BUILD_ONLY = ("bm25s", "numba", "scipy")


def _imported(argv: list[str], stdin: str = "") -> tuple[list[str], str]:
    code = (
        "import atexit, json, sys\n"
        "atexit.register(lambda: print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})), file=sys.stderr))\n"
        f"sys.argv = ['rabbit-rag', *{argv!r}]\n"
        "from rabbit_rag.cli.main import main\n"
        "main()\n"
    )
    done = subprocess.run([sys.executable, "-c", code], input=stdin, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stderr.strip().splitlines()[-1]), done.stdout


@pytest.fixture(scope="module")
def searches(sample_index_ro: Path) -> tuple[list, list[str], str]:
    """One child process (each costs a Kiwi load, about 2 s of CPU) that searches the sample index from
    Python, then runs `rabbit-rag search`. It reports what the Python search had imported, then every
    module imported by the end; the CLI's own imports come after the Python API's, so the second list is
    what the command needs on top of what a Python search needs."""
    code = (
        "import atexit, json, sys\n"
        "from rabbit_rag.index import open_index\n"
        f"idx = open_index({str(sample_index_ro)!r})\n"
        "hits = idx.search('국회의원 임기는?', 3, mode='bm25')\n"
        "doc = idx.document(hits[0].chunk.doc_id)\n"
        "before = sorted(m for m in ('pydantic', 'pydantic_settings', 'typer') if m in sys.modules)\n"
        "build = sorted(m for m in BUILD_ONLY if m in sys.modules)\n"
        "info = doc.to_dict()\n"  # the JSON model still works, imported on first use
        "print(json.dumps([hits[0].chunk.text, before, build, idx.generation.bm25.backend, info['doc_id'] == doc.doc_id]))\n"
        "idx.close()\n"
        "atexit.register(lambda: print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})), file=sys.stderr))\n"
        f"sys.argv = ['rabbit-rag', 'search', '국회의원 임기는?', '--index', {str(sample_index_ro)!r}]\n"
        "from rabbit_rag.cli.main import main\n"
        "main()\n"
    ).replace("BUILD_ONLY", repr(BUILD_ONLY))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    python_search, cli_output = done.stdout.split("\n", 1)
    return json.loads(python_search), json.loads(done.stderr.strip().splitlines()[-1]), cli_output


def test_search_command_imports_no_model_library(searches: tuple[list, list[str], str]) -> None:
    _, modules, stdout = searches
    assert "국회의원의 임기는 4년" in stdout  # it did answer
    assert not set(modules) & {*MODEL_LIBRARIES, *BUILD_ONLY}, sorted(set(modules) & {*MODEL_LIBRARIES, *BUILD_ONLY})


@pytest.mark.slow
@pytest.mark.parametrize("command", ["ask", "chat"])
def test_no_model_library_is_imported(sample_index_ro: Path, command: str) -> None:
    argv = [command, "--index", str(sample_index_ro), "--llm", "extractive"]
    stdin = ""
    if command == "chat":  # the question comes from stdin
        stdin = "국회의원 임기는?\n"
    else:
        argv.insert(1, "국회의원 임기는?")
    modules, stdout = _imported(argv, stdin)
    assert "국회의원의 임기는 4년" in stdout  # it did answer
    assert not set(modules) & {*MODEL_LIBRARIES, *BUILD_ONLY}, sorted(set(modules) & {*MODEL_LIBRARIES, *BUILD_ONLY})


def test_help_imports_nothing_heavy() -> None:
    modules, stdout = _imported(["--help"])
    assert "search" in stdout
    assert not set(modules) & {*MODEL_LIBRARIES, *BUILD_ONLY, "kiwipiepy", "numpy", "pydantic"}


def test_searching_from_python_imports_no_pydantic_and_no_numba(searches: tuple[list, list[str], str]) -> None:
    """`open_index(...).search(...)` is the Python API's first answer: it needs numpy, SQLite and Kiwi,
    not pydantic (about 0.2 s of CPU before the docstore imported its JSON models only where used), and on
    a small index it scores BM25 with numpy, paying for no numba, bm25s or scipy import (issue 14)."""
    text, imported, build_only, backend, info_ok = searches[0]
    assert "국회의원의 임기는 4년" in text
    assert imported == []
    assert build_only == [] and backend == "numpy"
    assert info_ok
