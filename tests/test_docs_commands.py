"""The README's commands run as printed, and every documented command can be copied as it stands.

Like tests/rabbit_rag/integrations/llama_index/test_docs_snippet.py for the llama-index snippet: the
blocks are taken from README.md and run, each in a fresh shell or interpreter, in a folder that holds
what a checkout holds (``samples/``). The only edits are the ones a test needs: a free port instead
of 8000, and no ``pip install`` (the package under test is already installed; the extra it names is
checked against pyproject.toml instead).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tests.conftest import ROOT, SAMPLES

README = ROOT / "README.md"
DOCS = sorted((ROOT / "docs").glob("*.md"))


def section(name: str) -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index(f"## {name}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end > 0 else len(text)]


def blocks(text: str, lang: str) -> list[str]:
    return re.findall(rf"^```{lang}\n(.*?)^```", text, flags=re.S | re.M)


def checkout(tmp_path: Path) -> Path:
    """A folder laid out like the repository root, for commands that say "from the repository root"."""
    shutil.copytree(SAMPLES, tmp_path / "samples")
    return tmp_path


def shell_env() -> dict[str, str]:
    """The test's interpreter and its console scripts first on PATH, offline, default settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RABBIT_RAG_")}
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env["HF_HUB_OFFLINE"] = "1"
    return env


def run_bash(script: str, cwd: Path, timeout: int = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-e", "-o", "pipefail", "-c", script], cwd=cwd, env=shell_env(), capture_output=True, text=True,
        timeout=timeout, start_new_session=True,
    )  # fmt: skip


# -- what every page may show ----------------------------------------------------------------------
def all_pages() -> list[Path]:
    return [README, *DOCS, ROOT / "indexes" / "README.md", ROOT / "samples" / "README.md"]


def test_documented_commands_can_be_copied() -> None:
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["optional-dependencies"]
    for page in all_pages():
        text = page.read_text(encoding="utf-8")
        name = page.relative_to(ROOT)
        # rabbit-rag is installed from its source, not from PyPI
        assert not re.search(r"pip install [\"']?rabbit-rag", text), f"{name}: rabbit-rag is not on PyPI"
        for extra in re.findall(r"pip install -e [\"']\.\[([\w,-]+)\][\"']", text):
            assert set(extra.split(",")) <= set(extras), f"{name}: no extra {extra!r} in pyproject.toml"
        assert "../shared" not in text, f"{name}: ../shared is the developers' folder, not the user's"
        assert "indexes/samples" not in text, f"{name}: the sample index is indexes/sample"
        for block in blocks(text, "bash"):
            for url in re.findall(r"(\$B/\S*|https?://\S+)", block):
                query = url.partition("?")[2]
                assert query.isascii(), f"{name}: URL-encode the query string of {url} (curl -G --data-urlencode)"
            # an unquoted <placeholder> is a redirection in bash: the copied command fails oddly
            assert not re.search(r"(?<=\s)<[a-z][a-z ]*>", block), f"{name}: a <placeholder> in {block!r}"
    api = (ROOT / "docs" / "api.md").read_text(encoding="utf-8").rstrip()
    assert "issue note" not in api[-600:], "docs/api.md ends with figures, not a pointer to an issue"


def test_korquad_is_said_where_it_comes_from() -> None:
    evaluation = section("Evaluation")
    assert "https://korquad.github.io/dataset/KorQuAD_v1.0_dev.json" in evaluation
    for block in blocks(README.read_text(encoding="utf-8"), "bash"):
        for dataset in re.findall(r"korquad:(\S+)", block):
            assert dataset == "data/KorQuAD_v1.0_dev.json", dataset  # where the download puts it


# -- the README's blocks, run --------------------------------------------------------------------------
@pytest.mark.slow  # a shell running the CLI (and a server) end to end
def test_command_line_block_runs_as_printed(tmp_path: Path) -> None:
    block = blocks(section("Command line"), "bash")[0]
    done = run_bash(block, checkout(tmp_path))
    assert done.returncode == 0, done.stderr
    out, err = done.stdout, done.stderr
    assert "index indexes/sample: 12 documents" in out
    assert "0 added, 0 updated, 12 unchanged" in err  # the second ingest
    assert '"text": "제70조 대통령의 임기는 5년으로 하며, 중임할 수 없다."' in out  # search --json
    assert "samples/kobill/" in out  # the --source filter
    assert out.count("국회의원의 임기는 4년으로 한다. [1]") == 2  # ask, and chat's follow-up
    assert "대통령의 임기는 5년" in out
    assert "answered with BM25 only" not in err  # no notice on a BM25-only index in the quick start


@pytest.mark.slow  # a shell running the CLI (and a server) end to end
def test_python_api_blocks_run_as_printed(tmp_path: Path) -> None:
    code = "\n".join(blocks(section("Python API"), "python"))
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=checkout(tmp_path), env=shell_env(), capture_output=True, text=True,
        timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "제42조 국회의원의 임기는 4년으로 한다." in done.stdout


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow  # a shell running the CLI (and a server) end to end
def test_api_block_runs_as_printed(tmp_path: Path) -> None:
    pytest.importorskip("fastapi")
    pytest.importorskip("uvicorn")
    block = blocks(section("Knowledge-base service (HTTP API)"), "bash")[0]
    first, rest = block.split("\n", 1)
    assert first.startswith('pip install -e ".[api]"')  # installed already: the test runs the rest
    script = rest.replace("8000", str(_free_port()))
    proc = subprocess.Popen(
        ["bash", "-e", "-o", "pipefail", "-c", script], cwd=checkout(tmp_path), env=shell_env(),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )  # fmt: skip
    try:
        out, err = proc.communicate(timeout=600)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)  # the server too, if the block did not stop it
    assert proc.returncode == 0, err
    assert '"name":"헌법"' in out  # the collection was created
    assert "event: token" in out and "event: citations" in out and "event: done" in out
    assert "대통령의 임기는 5년" in out and "제70조 대통령의 임기는 5년으로 하며, 중임할 수 없다." in out


@pytest.mark.parametrize("script", ["search_latency.py", "ingest_speed.py", "big_file.py", "kiwi_dictionaries.py"])
def test_a_benchmark_without_korquad_says_where_to_get_it(script: str, tmp_path: Path) -> None:
    """The README lists these commands; without the data set they end in one message, not a traceback."""
    missing = tmp_path / "KorQuAD_v1.0_dev.json"
    env = {**shell_env(), "RABBIT_RAG_KORQUAD": str(missing)}
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / script)], cwd=tmp_path, env=env, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip
    assert done.returncode != 0
    assert "Traceback" not in done.stderr, done.stderr
    assert str(missing) in done.stderr and "korquad.github.io" in done.stderr


@pytest.mark.slow  # a shell running the CLI end to end
def test_quickstart_commands_run_and_print_no_notice(tmp_path: Path) -> None:
    """The rabbit-rag lines of scripts/quickstart.sh (the README's first command), run as written: the
    hit the README promises, and no "answered with BM25 only" on an index built BM25-only on purpose."""
    lines = [
        line
        for line in (ROOT / "scripts" / "quickstart.sh").read_text(encoding="utf-8").splitlines()
        if line.startswith("rabbit-rag ")
    ]
    assert [line.split()[1] for line in lines] == ["ingest", "search", "ask"]
    done = run_bash("\n".join(lines), checkout(tmp_path))
    assert done.returncode == 0, done.stderr
    assert "제70조 대통령의 임기는 5년으로 하며, 중임할 수 없다." in done.stdout  # the README's promise
    assert "국회의원의 임기는 4년으로 한다. [1]" in done.stdout
    assert "BM25 only" not in done.stderr and "notice" not in done.stderr.lower(), done.stderr


@pytest.mark.slow  # a fresh interpreter answering from a new index
def test_ask_page_python_block_runs_as_printed(tmp_path: Path) -> None:
    """docs/ask.md's "From Python" block on the index the README's first command builds. Offline, its
    "auto" generator falls back to the extractive answerer (and says so); the test only appends prints."""
    block = blocks((ROOT / "docs" / "ask.md").read_text(encoding="utf-8"), "python")[0]
    assert 'open_index("indexes/sample")' in block
    where = checkout(tmp_path)
    ingest = run_bash("rabbit-rag ingest samples --index indexes/sample --embed-model none", where)
    assert ingest.returncode == 0, ingest.stderr
    code = (
        block + '\nprint(final.text)\nprint(chat.ask("그럼 대법원장은?").text)\nprint(answer.to_dict()["generator"])\n'
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=where, env=shell_env(), capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert "대통령의 임기는 5년" in done.stdout  # the streamed answer, printed as it came and as `final`
    assert "대법원장의 임기는 6년" in done.stdout  # the chat understood a follow-up
