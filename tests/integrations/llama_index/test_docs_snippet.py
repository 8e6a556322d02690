"""The llama-index snippet of ``docs/llama_index.md`` runs exactly as printed and prints what the page says."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT, SAMPLES

DOC = ROOT / "docs" / "llama_index.md"


def blocks(lang: str) -> list[str]:
    return re.findall(rf"^```{lang}\n(.*?)^```", DOC.read_text(encoding="utf-8"), flags=re.S | re.M)


def test_snippet_runs_as_printed(tmp_path: Path) -> None:
    snippet, expected = blocks("python")[0], blocks("text")[0]
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
    assert (tmp_path / "indexes" / "samples" / "manifest.json").is_file()
