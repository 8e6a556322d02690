"""The notebooks in ``notebooks/`` run top to bottom, offline, in a kernel of this interpreter.

A kernelspec pointing at ``sys.executable`` is written to a temporary Jupyter path, so the notebooks
run with this environment's packages even where no ``python3`` kernel is registered (a fresh venv) or
where the registered one belongs to another Python.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

# executes whole notebooks in a kernel: about a minute each
pytestmark = pytest.mark.slow

nbformat = pytest.importorskip("nbformat", reason="notebook tests need the dev extra (nbformat, nbclient)")
nbclient = pytest.importorskip("nbclient", reason="notebook tests need the dev extra (nbformat, nbclient)")
pytest.importorskip("ipykernel", reason="notebook tests need the dev extra (ipykernel)")

NOTEBOOKS = ROOT / "notebooks"
KERNEL = "rabbit-rag-test"
CELL_TIMEOUT_S = 300


@pytest.fixture(scope="module")
def kernel_env(tmp_path_factory: pytest.TempPathFactory):
    """A Jupyter path holding a kernelspec for this interpreter, and the environment the kernel gets."""
    jupyter = tmp_path_factory.mktemp("jupyter")
    spec = jupyter / "kernels" / KERNEL
    spec.mkdir(parents=True)
    spec.joinpath("kernel.json").write_text(
        json.dumps(
            {
                "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                "display_name": f"rabbit-rag tests ({sys.executable})",
                "language": "python",
            }
        ),
        encoding="utf-8",
    )
    env = {
        "JUPYTER_PATH": os.pathsep.join([str(jupyter), os.environ.get("JUPYTER_PATH", "")]).rstrip(os.pathsep),
        # this checkout's packages, not another install of rabbit-rag
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep),
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "MPLBACKEND": "module://matplotlib_inline.backend_inline",
    }
    return env


def run_notebook(name: str, env: dict[str, str], monkeypatch: pytest.MonkeyPatch):
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    client = nbclient.NotebookClient(
        nb, kernel_name=KERNEL, timeout=CELL_TIMEOUT_S, resources={"metadata": {"path": str(NOTEBOOKS)}}
    )
    client.execute()  # raises CellExecutionError, with the cell and traceback, on any error
    return nb


def outputs(nb) -> str:
    """Every text and HTML output of the executed notebook, as one string."""
    parts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream":
                parts.append(out.get("text", ""))
            data = out.get("data", {})
            parts.append(data.get("text/plain", ""))
            parts.append(data.get("text/html", ""))
    return "\n".join(parts)


def images(nb) -> int:
    return sum(1 for c in nb.cells for o in c.get("outputs", []) if "image/png" in o.get("data", {}))


def test_notebooks_are_committed_without_big_outputs() -> None:
    for path in sorted(NOTEBOOKS.glob("*.ipynb")):
        assert path.stat().st_size < 100_000, f"{path.name}: clear its outputs before committing"
    assert {p.name for p in NOTEBOOKS.glob("*.ipynb")} >= {
        "01_quickstart.ipynb",
        "02_retrieval_eval.ipynb",
        "03_llama_index.ipynb",
    }


def test_01_quickstart(kernel_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    text = outputs(run_notebook("01_quickstart.ipynb", kernel_env, monkeypatch))
    assert "국회의원의 임기는 4년으로 한다. [1]" in text
    assert "<mark" in text and "constitution.txt" in text  # highlighted quotes with their source
    assert "대법원장의 임기는 6년" in text  # the follow-up question was understood
    assert "제공된 문서에서 답을 찾을 수 없습니다." in text


def test_notebooks_do_not_import_the_tests() -> None:
    """A reader runs the notebooks without the test suite: what they need comes from the package or
    the environment (RABBIT_RAG_NOTEBOOK_EMBED_MODEL names an embedding model; the tests give a tiny one)."""
    for path in sorted(NOTEBOOKS.glob("*.ipynb")):
        code = "".join(
            "".join(c["source"]) for c in nbformat.read(path, as_version=4).cells if c["cell_type"] == "code"
        )
        assert "tests." not in code and "tiny_models" not in code, path.name


def test_02_retrieval_eval(kernel_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, tiny_st_model: Path) -> None:
    korquad = ROOT.parent / "shared" / "data" / "korquad" / "KorQuAD_v1.0_dev.json"
    monkeypatch.setenv("RABBIT_RAG_KORQUAD", str(korquad))  # the developers' copy; absent elsewhere
    monkeypatch.setenv("RABBIT_RAG_NOTEBOOK_EMBED_MODEL", str(tiny_st_model))  # stands in for KURE-v1
    nb = run_notebook("02_retrieval_eval.ipynb", kernel_env, monkeypatch)
    text = outputs(nb)
    if korquad.is_file():
        assert "KorQuAD 1.0 dev: 40 articles" in text and "300 questions" in text
    else:
        assert "KorQuAD is not here" in text
    for mode in ("bm25", "dense", "hybrid"):
        assert f"{mode:>6}: recall@1" in text
    assert f"embedding model: {tiny_st_model}" in text  # says which embeddings it measured
    assert "notebook run time: " in text
    assert images(nb) == 1  # the recall@k plot


def test_02_without_korquad_or_a_model(
    kernel_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A bare offline machine: no data set (the notebook says where to get it and runs on a toy set) and
    no embedding model (it measures BM25 alone and says so)."""
    monkeypatch.setenv("RABBIT_RAG_KORQUAD", str(tmp_path / "missing.json"))
    monkeypatch.setenv("RABBIT_RAG_NOTEBOOK_EMBED_MODEL", str(tmp_path / "no-model"))
    nb = run_notebook("02_retrieval_eval.ipynb", kernel_env, monkeypatch)
    text = outputs(nb)
    assert "KorQuAD is not here" in text and "missing.json" in text and "korquad.github.io" in text
    assert "toy set (constitution): 1 articles" in text and "10 questions" in text
    assert "No embedding model here" in text and "Measuring BM25 alone" in text
    assert "  bm25: recall@1" in text and "dense: recall@1" not in text
    assert images(nb) == 1


def test_03_llama_index(kernel_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, tiny_st_model: Path) -> None:
    monkeypatch.setenv("RABBIT_RAG_NOTEBOOK_EMBED_MODEL", str(tiny_st_model))  # RabbitEmbedding over it
    text = outputs(run_notebook("03_llama_index.ipynb", kernel_env, monkeypatch))
    assert f"embedding model: {tiny_st_model}" in text
    assert "offsets hold for every node" in text
    assert "국회의원의 임기는 4년으로 한다." in text  # RetrieverQueryEngine + RabbitLLM
    assert "헌법재판소 재판관의 임기는 6년" in text and "<mark>" in text  # RabbitQueryEngine citations
    assert "대법원장의 임기는 6년" in text  # streaming
    assert "sources found by:" in text and "'dense'" in text  # the llama-index vector store took part


def test_03_without_a_model(kernel_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No embedding model on the machine: llama-index's MockEmbedding stands in, said so, and every cell runs."""
    monkeypatch.setenv("RABBIT_RAG_NOTEBOOK_EMBED_MODEL", str(tmp_path / "no-model"))
    text = outputs(run_notebook("03_llama_index.ipynb", kernel_env, monkeypatch))
    assert "No embedding model here" in text and "MockEmbedding" in text
    assert "offsets hold for every node" in text and "국회의원의 임기는 4년으로 한다." in text
