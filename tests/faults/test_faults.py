"""The fault-injection suite, CI-sized: kill -9 at random (seeded) points of ingests, the corruption
matrix, two writers creating one index, searches racing updates in the library, the CLI and the
API, and a server killed while it accepts uploads. ``benchmarks/faults.py`` runs the same scenarios
with larger counts and prints trials, survived and lost."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.faults import scenarios

SEED = 1313


def _assert(tally: scenarios.Tally) -> None:
    assert tally.survived == tally.trials and tally.lost == 0, (tally.line(), tally.failures)


def test_kill9_during_ingest(tmp_path: Path) -> None:
    tally = scenarios.kill9_ingest(tmp_path, trials=3, seed=SEED)
    _assert(tally)
    assert tally.extra["killed mid-run"] >= 1, tally.line()


def test_kill9_during_sync(tmp_path: Path) -> None:
    tally = scenarios.kill9_ingest(tmp_path, trials=2, seed=SEED + 1, sync=True)
    _assert(tally)
    assert tally.extra["killed mid-run"] >= 1, tally.line()


def test_two_writers_create_one_index_threads(tmp_path: Path) -> None:
    _assert(scenarios.writer_race(tmp_path, trials=6))


@pytest.mark.slow  # two child processes per trial, each loading Kiwi
def test_two_writers_create_one_index_processes(tmp_path: Path) -> None:
    _assert(scenarios.writer_race(tmp_path, trials=2, processes=True))


def test_update_race_library(tmp_path: Path) -> None:
    tally = scenarios.update_race_library(tmp_path, min_hits=10_000, seed=SEED)
    _assert(tally)
    assert tally.extra["hits"] >= 10_000 and tally.extra["mismatches"] == 0
    assert tally.extra["revisions"] >= 3, tally.extra  # the updates really raced the searches


def test_update_race_cli(tmp_path: Path) -> None:
    tally = scenarios.update_race_cli(tmp_path, min_hits=10_000, seed=SEED)
    _assert(tally)
    assert tally.extra["hits"] >= 10_000 and tally.extra["versions_seen"] >= 3, tally.extra


def test_update_race_api(client_factory, keys) -> None:
    from tests.api.conftest import COLLECTION

    client = client_factory()
    headers = keys.h("write")
    seed = [("files", (f"문서{i:02d}.txt", scenarios.doc_text(i, 0).encode(), "text/plain")) for i in range(30)]
    job = client.post(f"/v1/collections/{COLLECTION}/documents", files=seed, headers=headers).json()["id"]
    while client.get(f"/v1/jobs/{job}", headers=headers).json()["status"] in ("queued", "running"):
        pass
    tally = scenarios.update_race_api(client, COLLECTION, headers, min_hits=10_000, seed=SEED)
    _assert(tally)
    assert tally.extra["hits"] >= 10_000 and tally.extra["revisions"] >= 3, tally.extra


@pytest.fixture(scope="module")
def pristine_with_vectors(tmp_path_factory: pytest.TempPathFactory, tiny_st_model: Path) -> Path:
    from rabbit_rag.ingest import ingest_documents
    from rabbit_rag.types import Document

    path = tmp_path_factory.mktemp("pristine") / "idx"
    docs = [Document(source=f"문서{i:02d}.txt", text=scenarios.doc_text(i, 0)) for i in range(6)]
    ingest_documents(docs, path, embed_model=str(tiny_st_model), progress=False)
    ingest_documents(docs[:2], path, progress=False)  # unchanged: no new generation
    ingest_documents([Document(source="문서00.txt", text=scenarios.doc_text(0, 1))], path, progress=False)
    return path


def test_corruption_matrix(tmp_path: Path, pristine_with_vectors: Path) -> None:
    tally = scenarios.corruption_matrix(tmp_path, pristine_with_vectors)
    files = [p for p in pristine_with_vectors.rglob("*") if p.is_file() and p.name != ".lock"]
    assert tally.trials == len(files) * len(scenarios.DAMAGES) >= 5 * 8
    _assert(tally)


@pytest.mark.slow  # two server starts
def test_server_killed_while_accepting_uploads(tmp_path: Path) -> None:
    pytest.importorskip("fastapi")
    _assert(scenarios.restart_uploads(tmp_path, trials=1, seed=SEED, uploads=12))
