"""The notebook-facing names: lazily exported, nothing heavy imported with them."""

from __future__ import annotations

import subprocess
import sys

import rabbit_rag


def test_every_exported_name_resolves() -> None:
    for name in rabbit_rag.__all__:
        assert getattr(rabbit_rag, name) is not None, name


def test_importing_the_ask_api_loads_no_model_libraries() -> None:
    code = (
        "import sys, rabbit_rag; rabbit_rag.Engine; rabbit_rag.make_generator; rabbit_rag.cite; "
        "import rabbit_rag.generators.transformers_chat, rabbit_rag.generators.openai_chat; "
        "print(sorted(m for m in ('torch', 'transformers', 'kiwipiepy', 'httpx') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
