"""The llama-index snippet of ``README.md`` and ``docs/llama_index.md`` runs exactly as printed and prints what the page says."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, SAMPLES

# runs the documentation's snippets as printed, each in a fresh interpreter
pytestmark = pytest.mark.slow

DOC = ROOT / "docs" / "llama_index.md"
README = ROOT / "README.md"


def blocks(text: str, lang: str) -> list[str]:
    return re.findall(rf"^```{lang}\n(.*?)^```", text, flags=re.S | re.M)


def readme_section() -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index("## llama-index")
    return text[start : text.index("\n## ", start + 1)]


def test_readme_shows_the_same_snippet() -> None:
    doc = DOC.read_text(encoding="utf-8")
    assert blocks(readme_section(), "python")[0] == blocks(doc, "python")[0]
    assert blocks(readme_section(), "text")[0] == blocks(doc, "text")[0]


@pytest.mark.parametrize("page", ["README", "docs"])
def test_snippet_runs_as_printed(tmp_path: Path, page: str) -> None:
    text = readme_section() if page == "README" else DOC.read_text(encoding="utf-8")
    snippet, expected = blocks(text, "python")[0], blocks(text, "text")[0]
    # a checkout's root: the bundled samples and nothing else
    shutil.copytree(SAMPLES, tmp_path / "samples")
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
        "HF_HUB_OFFLINE": "1",
    }
    for run in ("first", "again"):  # the second run finds the index up to date
        done = subprocess.run(
            [sys.executable, "-c", snippet], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
        )
        assert done.returncode == 0, f"{run} run failed:\n{done.stderr}"
        assert done.stdout == expected, f"{run} run printed:\n{done.stdout}"
    assert (tmp_path / "indexes" / "sample" / "manifest.json").is_file()
