"""What a new user meets first: a typo, a folder of the wrong files, failures, the progress bar."""

from __future__ import annotations

import io
import os
import pty
import select
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rabbit_rag.cli.main import app
from rabbit_rag.errors import InvalidInputError
from rabbit_rag.ingest import ingest_paths
from rabbit_rag.ingest.pipeline import _progress_bar
from tests.conftest import SAMPLES

runner = CliRunner()


def _ingest(*args: str):
    return runner.invoke(app, ["ingest", *args, "--embed-model", "none"])


def test_a_typo_exits_1_and_creates_nothing(tmp_path: Path) -> None:
    index = tmp_path / "indexes" / "x"
    result = _ingest(str(tmp_path / "mydocz"), "--index", str(index))
    assert result.exit_code == 1
    assert "mydocz: no such file or folder" in result.stderr and "nothing was written" in result.stderr
    assert not index.exists() and not index.parent.exists()
    with pytest.raises(InvalidInputError, match="nothing to ingest"):
        ingest_paths([tmp_path / "mydocz"], index)


def test_a_folder_of_unsupported_files_exits_1_and_creates_nothing(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    for name in ("a.xyz", "b.xyz", "c.jpg"):
        (docs / name).write_bytes(b"\x89PNG\r\n")
    index = tmp_path / "idx"
    result = _ingest(str(docs), "--index", str(index), "--json")
    assert result.exit_code == 1
    assert "3 file(s) skipped" in result.stderr and "unsupported type (.xyz)" in result.stderr
    assert ".hwp" in result.stderr  # says what it does read
    assert '"error"' in result.stdout  # --json: one error object
    assert not index.exists()
    empty = tmp_path / "empty"
    empty.mkdir()
    assert _ingest(str(empty), "--index", str(index)).exit_code == 1 and not index.exists()


def test_when_every_file_fails_the_new_index_is_removed_and_each_failure_listed_once(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "garbage.txt").write_bytes(b"abc\x00\x01\x02" * 50)
    (docs / "photo.txt").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)))
    index = tmp_path / "idx"
    index.mkdir()  # an empty folder given as --index stays, empty
    result = _ingest(str(docs), "--index", str(index))
    assert result.exit_code == 1
    assert result.stderr.count("garbage.txt") == 1 and result.stderr.count("photo.txt") == 1
    assert "binary content (NUL bytes)" in result.stderr and "binary data" not in result.stderr
    assert "nothing could be ingested; no index was created" in result.stderr
    assert index.is_dir() and list(index.iterdir()) == []


def test_a_failure_beside_good_files_is_listed_once_and_exits_0(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "good.txt").write_text("제1조 대한민국은 민주공화국이다.", encoding="utf-8")
    (docs / "bad.txt").write_bytes(b"abc\x00\x01\x02" * 50)
    index = tmp_path / "idx"
    result = _ingest(str(docs), "--index", str(index))
    assert result.exit_code == 0, result.stderr
    assert result.stderr.count("bad.txt") == 1 and "1 added" in result.stderr
    # an index that has documents keeps them when a later run ingests nothing
    (docs / "good.txt").unlink()
    again = _ingest(str(docs), "--index", str(index))
    assert again.exit_code == 1 and "no index was created" not in again.stderr
    assert (index / "manifest.json").is_file()
    assert _ingest(str(SAMPLES / "constitution.txt"), "--index", str(index)).exit_code == 0


def test_progress_bar_shows_on_a_terminal_that_reports_no_width(monkeypatch: pytest.MonkeyPatch) -> None:
    master, slave = pty.openpty()  # a pseudo-terminal nobody sized: 0 columns, as under `script`
    try:
        assert os.get_terminal_size(slave).columns == 0
        tty = os.fdopen(slave, "w", closefd=False)
        monkeypatch.setattr(sys, "stderr", tty)
        bar = _progress_bar(20, None)
        for _ in range(20):
            bar.update(1)
        bar.close()
        tty.flush()
        chunks = []
        while select.select([master], [], [], 0.5)[0]:  # all of it, however the pty hands it over
            chunks.append(os.read(master, 65536))
        out = b"".join(chunks).decode("utf-8", "replace")
    finally:
        os.close(master)
        os.close(slave)
    assert "ingest: 100%" in out and "20/20" in out
    # not a terminal: no bar (logs and pipes stay clean)
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    assert _progress_bar(20, None).disable


@pytest.mark.parametrize("argv", [["serve"], ["keys", "list"], ["keys", "create", "me"]])
def test_a_missing_extra_names_the_extra(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, argv: list[str]) -> None:
    for name in [m for m in sys.modules if m == "rabbit_rag.api" or m.startswith("rabbit_rag.api.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "fastapi", None)  # `import fastapi` raises ModuleNotFoundError
    monkeypatch.setitem(sys.modules, "uvicorn", None)
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, argv)
    assert result.exit_code == 1
    assert "needs the 'api' extra" in result.stderr and 'pip install -e ".[api]"' in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
