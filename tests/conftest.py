"""Shared fixtures. Tests run offline: the hub is switched off before anything imports it."""

from __future__ import annotations

import functools
import importlib
import importlib.util
import os
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from rabbit_rag.notices import forget_notices

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("RABBIT_RAG_EMBED_MODEL", "none")

ROOT = Path(__file__).resolve().parents[1]


def skip_unless_installed(module: str, reason: str) -> None:
    """Skip a folder's tests (called from its ``conftest.py``) when ``module`` is not installed, without
    importing it: every xdist worker collects every folder, and llama-index or pymilvus cost seconds of
    CPU to import on a worker that runs none of their tests. A module that is installed but fails to
    import fails its tests, which is louder than a skip and right."""
    try:
        found = importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:  # a parent package is missing
        found = False
    if not found:
        pytest.skip(reason, allow_module_level=True)


class OnFirstUse:
    """A module imported at its first attribute use: ``li = OnFirstUse("llama_index.core")``, then
    ``li.Document(...)``.

    Every xdist worker imports every test module when it collects, though a module runs on one worker
    (``--dist loadgroup``). A test module that imports torch or llama-index at its top made the other
    worker pay seconds of CPU for nothing; with this, the import happens in the first test that uses it."""

    def __init__(self, module: str) -> None:
        self.module = module

    def __getattr__(self, name: str) -> Any:
        return getattr(importlib.import_module(self.module), name)


SAMPLES = ROOT / "samples"
SHARED = ROOT.parent / "shared"
SHARED_DATA = SHARED / "data"

#: ``pytestmark = pytest.mark.slow`` (or a list starting with it) at the top level of a test module.
_SLOW_MODULE = re.compile(r"^pytestmark\s*=\s*\[?\s*(?:#[^\n]*\n\s*)?pytest\.mark\.slow\b", re.MULTILINE)


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """In the fast loop (``-m "not slow"``), a module that is slow as a whole is not even imported.

    Its tests would all be deselected anyway; importing it (schemathesis, hypothesis, Playwright, the
    fault scenarios' helpers) cost every xdist worker seconds of CPU before the first test ran."""
    if config.getoption("markexpr", "") != "not slow":
        return None
    if collection_path.suffix != ".py" or not collection_path.name.startswith("test_"):
        return None
    try:
        head = collection_path.read_text(encoding="utf-8")
    except OSError:
        return None
    return True if _SLOW_MODULE.search(head) else None


#: Session fixtures that import torch and transformers and build a tiny model (seconds of CPU each).
TORCH_FIXTURES = ("tiny_st_model", "tiny_llama", "tiny_llama_endless", "tiny_llama_random")


@functools.cache  # asked once per test id; the answer depends only on the module
def _xdist_scope(module: str) -> str:
    """The unit of work the fast loop sends to one xdist worker for the test module ``module``
    (a path relative to the root): ``"torch"`` for every module that uses a tiny torch model (in its
    own text or through a ``conftest.py`` of its folders), else the module itself."""
    path = ROOT / module
    texts = [path] + [
        d / "conftest.py" for d in path.parents if d != ROOT / "tests" and d.is_relative_to(ROOT / "tests")
    ]
    for f in texts:
        try:
            text = f.read_text(encoding="utf-8")
        except OSError:
            continue
        if any(name in text for name in TORCH_FIXTURES):
            return "torch"
    return module


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object | None:
    """``--dist loadgroup`` (the fast loop): a test module runs on one worker, and every module that
    needs a tiny torch model runs on the same worker.

    A session fixture is built once per worker: spread over both, the tiny models and the torch,
    transformers and sentence-transformers imports behind them were paid twice, and a module split
    across workers built its module fixtures twice. (xdist's own ``loadgroup`` reads ``xdist_group``
    marks through ``item._nodeid``, which pytest 9.2 no longer uses, so it degraded to ``load``; the
    groups here come from the module paths, which the controller has.)"""
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class ModuleScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return _xdist_scope(nodeid.split("::", 1)[0])

    return ModuleScheduling(config, log)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def tiny_st_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny sentence-transformers model folder (random BERT, character vocabulary)."""
    from tests.tiny_models import build_tiny_sentence_transformer

    return build_tiny_sentence_transformer(tmp_path_factory.mktemp("tiny-st"))


#: What the scripted tiny Llama writes after any prompt (then <|eot_id|>).
LLAMA_SCRIPT = "국회의원의 임기는 4년으로 한다 [1]."


@pytest.fixture(scope="session")
def tiny_llama(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny Llama 3-style chat model folder that greedily writes :data:`LLAMA_SCRIPT` then ``<|eot_id|>``."""
    from tests.tiny_models import build_tiny_llama

    return build_tiny_llama(tmp_path_factory.mktemp("tiny-llama") / "scripted", script=LLAMA_SCRIPT)


@pytest.fixture(scope="session")
def tiny_llama_endless(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny Llama that writes :data:`LLAMA_SCRIPT` over and over and never ends its turn (long context)."""
    from tests.tiny_models import build_tiny_llama

    folder = tmp_path_factory.mktemp("tiny-llama") / "endless"
    return build_tiny_llama(folder, script=LLAMA_SCRIPT, loop=True, max_positions=1_000_000)


@pytest.fixture(scope="session")
def tiny_llama_random(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random Llama with a 2048-token context (for prompt budgets)."""
    from tests.tiny_models import build_tiny_llama

    return build_tiny_llama(tmp_path_factory.mktemp("tiny-llama") / "random", max_positions=2048)


@pytest.fixture(scope="session")
def sample_index_ro(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A BM25-only index of ``samples/``, built once per session. Do not write to it."""
    from rabbit_rag.ingest import ingest_paths

    path = tmp_path_factory.mktemp("sample-index") / "idx"
    ingest_paths([SAMPLES], path, embed_model="none", progress=False)
    return path


@pytest.fixture
def sample_index(sample_index_ro: Path, tmp_path: Path) -> Path:
    """A private copy of the sample index that a test may modify."""
    dst = tmp_path / "idx"
    shutil.copytree(sample_index_ro, dst)
    return dst


def shared_data(*parts: str) -> Path:
    """A path under ``../shared/data``; skips the test when the shared folder is absent."""
    p = SHARED_DATA.joinpath(*parts)
    if not p.exists():
        pytest.skip(f"{p} is not available on this machine")
    return p


@pytest.fixture(autouse=True)
def _fresh_notices() -> None:
    """Notices print once per process; each test sees its own."""
    forget_notices()
