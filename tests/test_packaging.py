"""The distribution installs exactly the package folders of the checkout, under ``rabbit_rag``."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_every_package_folder_is_installed_under_rabbit_rag() -> None:
    tool = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    package_dir: dict[str, str] = tool["package-dir"]
    on_disk = set()
    for top, folder in package_dir.items():
        base = ROOT / folder
        for init in base.rglob("__init__.py"):
            rel = init.parent.relative_to(base)
            name = ".".join((top, *rel.parts))
            # a folder mapped on its own (rabbit_rag.ingest) is listed under its own mapping
            if name in package_dir and package_dir[name] != str(Path(folder, *rel.parts)):
                continue
            on_disk.add(name)
    assert set(tool["packages"]) == on_disk
    assert all(name == "rabbit_rag" or name.startswith("rabbit_rag.") for name in tool["packages"])


def test_the_public_names_resolve() -> None:
    import rabbit_rag
    import rabbit_rag.ingest

    assert len(rabbit_rag.__all__) >= 20 and {"Engine", "open_index", "IndexWriter"} <= set(rabbit_rag.__all__)
    for module in (rabbit_rag, rabbit_rag.ingest):
        for name in module.__all__:
            assert getattr(module, name) is not None, f"{module.__name__}.{name}"


def test_the_parse_worker_child_starts_light() -> None:
    """The parse worker's child imports the readers only: not numpy, pydantic or the index."""
    import subprocess
    import sys

    code = (
        "import sys, rabbit_rag.ingest.readers.isolation\n"
        "heavy = [m for m in ('numpy', 'pydantic', 'rabbit_rag.index', 'rabbit_rag.engine') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
