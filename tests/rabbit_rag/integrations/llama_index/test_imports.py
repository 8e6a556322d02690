"""The integration loads llama-index only when it is imported itself, and says how to install it."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.conftest import ROOT


def run(code: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)


def test_rabbit_rag_does_not_import_llama_index() -> None:
    done = run(
        "import sys, rabbit_rag, rabbit_rag.engine, rabbit_rag.retrieval, rabbit_rag.integrations\n"
        "from rabbit_rag.cli.main import app\n"
        "assert not [m for m in sys.modules if m.startswith('llama_index')], 'llama_index was imported'\n"
    )
    assert done.returncode == 0, done.stderr


def test_missing_llama_index_says_how_to_install() -> None:
    done = run(
        "import sys\n"
        "sys.modules['llama_index'] = None  # as if llama-index-core were not installed\n"
        "sys.modules['llama_index.core'] = None\n"
        "import rabbit_rag.integrations.llama_index\n"
    )
    assert done.returncode != 0
    assert "ImportError" in done.stderr and "pip install -e '.[llama-index]'" in done.stderr  # not on PyPI
