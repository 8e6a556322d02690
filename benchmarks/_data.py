"""Where the benchmarks find their data sets, and a clear message when one is missing.

KorQuAD 1.0 dev (``KorQuAD_v1.0_dev.json``, CC BY-ND 2.0 KR) is not part of the repository: download it
from https://korquad.github.io/KorQuad%201.0/ into ``data/`` at the repository root (git-ignored), or
point ``RABBIT_RAG_KORQUAD`` or the script's ``--dataset`` at it.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
KORQUAD_DEFAULT = ROOT / "data" / "KorQuAD_v1.0_dev.json"
KORQUAD_URL = "https://korquad.github.io/KorQuad%201.0/"


def korquad_path(given: str | Path | None = None) -> Path:
    """``given``, else ``$RABBIT_RAG_KORQUAD``, else ``data/KorQuAD_v1.0_dev.json`` (not checked)."""
    return Path(given or os.environ.get("RABBIT_RAG_KORQUAD") or KORQUAD_DEFAULT)


def require_korquad(given: str | Path | None = None) -> Path:
    """The KorQuAD dev file, or exit 2 saying where to get it and where to put it."""
    path = korquad_path(given)
    if not path.is_file():
        sys.exit(
            f"KorQuAD 1.0 dev set not found at {path}.\n"
            f"Download KorQuAD_v1.0_dev.json from {KORQUAD_URL} into {KORQUAD_DEFAULT.parent}/, "
            "or pass --dataset PATH, or set RABBIT_RAG_KORQUAD=PATH."
        )
    return path
