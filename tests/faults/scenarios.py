"""Fault-injection scenarios, shared by the CI-sized tests (``tests/faults/``) and the longer
benchmark (``benchmarks/faults.py``): kill -9 at random points of ingests, the corruption matrix,
two writers creating one index, searches racing updates (library, CLI, API), a server killed while
it accepts uploads.

Each scenario is seeded and returns a :class:`Tally` — trials, survived, lost — and the details of any
failure. *Survived*: the index opens (repairing what is derived), ``check`` passes and every invariant
holds. *Lost*: acknowledged data is gone or wrong, or a wrong answer was given without an error.

Run as a module, it is the child process the scenarios kill::

    python -m tests.faults.scenarios ingest FOLDER INDEX STARTED_FILE [--sync]
    python -m tests.faults.scenarios update-writer INDEX STOP_FILE SEED
    python -m tests.faults.scenarios create INDEX GO_FILE NAME
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
ENV = {
    **os.environ,
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "RABBIT_RAG_EMBED_MODEL": "none",
    "TOKENIZERS_PARALLELISM": "false",
}
_MARK = re.compile(r"문서 (\d+)번의 판본 (\d+)")
#: The race runs until it has seen this many revisions (or this many seconds have passed) and enough hits.
MIN_REVISIONS = 3
MAX_RACE_S = 300.0
QUERIES = ["대통령의 임기", "국회의원 선거", "법률의 공포", "예산안 심의", "헌법 개정", "임기는 몇 년"]


@dataclass
class Tally:
    """What a scenario found: ``trials``, how many ``survived`` and how many ``lost`` data."""

    name: str
    trials: int = 0
    survived: int = 0
    lost: int = 0
    failures: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def record(self, problems: list[str], lost: bool = False) -> None:
        self.trials += 1
        if problems:
            self.failures.extend(problems[:5])
        else:
            self.survived += 1
        if lost:
            self.lost += 1

    def line(self) -> str:
        more = "".join(f", {k} {v}" for k, v in self.extra.items())
        return f"{self.name}: trials {self.trials}, survived {self.survived}, lost {self.lost}{more}"


# -- the documents -------------------------------------------------------------------------------------
def doc_text(i: int, version: int, sentences: int = 12) -> str:
    """Document ``i`` at ``version``: every sentence names both, so any chunk says which text it is of."""
    topics = ["대통령의 임기", "국회의원 선거", "법률의 공포", "예산안 심의", "헌법 개정", "법원의 판결"]
    return "\n".join(
        f"제{k + 1}조 문서 {i}번의 판본 {version}에 따르면 {topics[(i + k) % len(topics)]}에 관한 사항은 "
        f"{version + k}년마다 다시 정하며 임기는 {k + 2}년이다."
        for k in range(sentences)
    )


def marked(text: str) -> tuple[int, int] | None:
    """``(document, version)`` named in a chunk's text."""
    m = _MARK.search(text)
    return (int(m.group(1)), int(m.group(2))) if m else None


def _child(args: list[str], **kw: Any) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.faults.scenarios", *args],
        cwd=ROOT,
        env=ENV,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        **kw,
    )


def _kill(proc: subprocess.Popen[bytes]) -> bool:
    """SIGKILL ``proc`` if it still runs; whether it was killed (not already done)."""
    if proc.poll() is not None:
        return False
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    return True


def index_problems(index: Path, expect: dict[str, set[int]] | None = None) -> tuple[list[str], bool]:
    """Open the index (it repairs what is derived), check it, and verify every document: whole, offsets
    exact, and — ``expect``: source → acceptable versions — each acknowledged document there in an
    acceptable version. Returns ``(problems, data lost?)``."""
    from rabbit_rag.errors import RabbitRagError
    from rabbit_rag.index import open_index
    from rabbit_rag.index.integrity import check_index

    try:
        idx = open_index(index)
    except RabbitRagError as e:
        return [f"open: {e}"], True
    problems: list[str] = []
    lost = False
    try:
        report = check_index(index)
        problems += [f"check: {p.file}: {p.problem}" for p in report.problems]
        seen: dict[str, int] = {}
        for doc in idx.documents():
            text = idx.document_text(doc.doc_id) or ""
            chunks = idx.document_chunks(doc.doc_id)
            if len(chunks) != doc.n_chunks:
                problems.append(f"{doc.source}: {len(chunks)} chunks, recorded {doc.n_chunks}")
            for c in chunks:
                if text[c.start : c.end] != c.text:
                    problems.append(f"{doc.source}: chunk {c.chunk_id} offsets do not match")
            mark = marked(text)
            if mark is not None:
                seen[doc.source] = mark[1]
        for source, versions in (expect or {}).items():
            if seen.get(source) not in versions:
                problems.append(f"{source}: version {seen.get(source)}, acknowledged {sorted(versions)}")
                lost = True
    finally:
        idx.close()
    return problems, lost or any(p.startswith("check: docstore") for p in problems)


# -- kill -9 during ingest -------------------------------------------------------------------------------
def _write_corpus(folder: Path, versions: dict[int, int]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for i, v in versions.items():
        (folder / f"{i:03d}.txt").write_text(doc_text(i, v), encoding="utf-8")


def kill9_ingest(root: Path, trials: int, seed: int = 0, sync: bool = False, files: int = 40) -> Tally:
    """Ingest a folder, then ``trials`` times: change a third of the files (and add new ones; with
    ``sync`` also delete some), start ``rabbit-rag ingest`` in a child process and SIGKILL it after a
    random delay. After each kill the index must open, pass ``check`` and hold every acknowledged
    document in its old or new version; a complete ingest then brings it up to date."""
    from rabbit_rag.ingest import ingest_paths

    rng = random.Random(seed)
    tally = Tally(f"kill -9 during ingest{' --sync' if sync else ''}")
    folder, index = root / "docs", root / "idx"
    versions = {i: 0 for i in range(files)}
    _write_corpus(folder, versions)
    t0 = time.monotonic()
    ingest_paths([folder], index, embed_model="none", progress=False)
    took = time.monotonic() - t0  # how long a run takes here: the kills land anywhere inside one
    killed = 0
    for _ in range(trials):
        before = dict(versions)
        for i in rng.sample(sorted(versions), len(versions) // 3):
            versions[i] += 1
        for _ in range(3):
            versions[max(versions) + 1] = 0
        _write_corpus(folder, versions)
        if sync:
            for i in rng.sample(sorted(before), 2):
                (folder / f"{i:03d}.txt").unlink()
                versions.pop(i)
        expect = {f"docs/{i:03d}.txt": {v, versions[i]} if i in versions else {v} for i, v in before.items()}
        if sync:  # a deleted file's document may be there (old version) or gone
            expect = {s: vs for s, vs in expect.items() if int(s[5:8]) in versions}
        started = root / "started"
        started.unlink(missing_ok=True)
        proc = _child(["ingest", str(folder), str(index), str(started), *(["--sync"] if sync else [])])
        deadline = time.monotonic() + 300
        while not started.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(rng.uniform(0.0, 1.2 * took))
        killed += _kill(proc)
        problems, lost = index_problems(index, expect)
        tally.record(problems, lost)
        t0 = time.monotonic()
        ingest_paths([folder], index, embed_model="none", progress=False, sync=sync)
        took = time.monotonic() - t0
        final, lost = index_problems(index, {f"docs/{i:03d}.txt": {v} for i, v in versions.items()})
        if final:
            tally.failures.extend(f"after a complete ingest: {p}" for p in final[:3])
            tally.lost += int(lost)
    tally.extra["killed mid-run"] = killed
    return tally


# -- two writers create one index ------------------------------------------------------------------------
def writer_race(root: Path, trials: int, processes: bool = False) -> Tally:
    """Two writers ingest into the same *new* folder at the same moment (threads, or processes
    released together); both must succeed and the index must hold both documents."""
    from rabbit_rag.index import open_index

    tally = Tally(f"two writers create one index ({'processes' if processes else 'threads'})")
    for t in range(trials):
        index = root / f"race-{t}"
        errors: list[str] = []
        if processes:
            go = root / f"go-{t}"
            procs = [_child(["create", str(index), str(go), name]) for name in ("가", "나")]
            time.sleep(0.2)
            deadline = time.monotonic() + 60
            while not all((root / f"race-{t}.ready-{n}").exists() for n in ("가", "나")):
                if time.monotonic() > deadline:
                    break
                time.sleep(0.05)
            go.touch()
            for p in procs:
                _, err = p.communicate(timeout=120)
                if p.returncode != 0:
                    errors.append(err.decode("utf-8", "replace").strip().splitlines()[-1:][0] if err else "failed")
        else:
            barrier = threading.Barrier(2)
            threads = [
                threading.Thread(target=_create_in_thread, args=(index, n, barrier, errors)) for n in ("가", "나")
            ]
            for th in threads:
                th.start()
            for th in threads:
                th.join()
        problems = list(errors)
        if not errors:
            got = {d.source for d in open_index(index).documents()}
            if got != {"가.txt", "나.txt"}:
                problems.append(f"documents {sorted(got)}")
            problems += index_problems(index)[0]
        tally.record(problems, lost=bool(problems))
    return tally


def _create_in_thread(index: Path, name: str, barrier: threading.Barrier, errors: list[str]) -> None:
    from rabbit_rag.ingest import ingest_documents
    from rabbit_rag.types import Document

    barrier.wait()
    try:
        doc = Document(source=f"{name}.txt", text=f"{name} 문서의 내용이다. 임기는 4년이다.")
        ingest_documents([doc], index, embed_model="none", progress=False)
    except Exception as e:  # the trial records it
        errors.append(f"{name}: {type(e).__name__}: {e}")


# -- searches racing updates ------------------------------------------------------------------------------
def _seed_index(index: Path, docs: int) -> None:
    from rabbit_rag.ingest import ingest_documents
    from rabbit_rag.types import Document

    ingest_documents(
        [Document(source=f"문서{i:02d}.txt", text=doc_text(i, 0)) for i in range(docs)],
        index,
        embed_model="none",
        progress=False,
    )


class _Writer:
    """A child process that updates documents of an index round after round until told to stop."""

    def __init__(self, index: Path, seed: int) -> None:
        self.stop_file = index.parent / f"stop-{seed}"
        self.ready_file = index.parent / f"stop-{seed}.ready"
        self.stop_file.unlink(missing_ok=True)
        self.ready_file.unlink(missing_ok=True)
        self.proc = _child(["update-writer", str(index), str(self.stop_file), str(seed)])
        deadline = time.monotonic() + 300
        while not self.ready_file.exists() and self.proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)  # it loads Kiwi first, so its rounds follow each other while we search

    def stop(self) -> int:
        """Stop it; the number of rounds it published."""
        self.stop_file.touch()
        try:
            _, err = self.proc.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            _kill(self.proc)
            return -1
        text = err.decode("utf-8", "replace")
        m = re.search(r"rounds=(\d+)", text)
        return int(m.group(1)) if m else -1


def update_race_library(root: Path, min_hits: int, seed: int = 0, docs: int = 30, k: int = 50) -> Tally:
    """Searches in this process while a child process updates documents: each hit's offsets must
    point at its text in ``document_text`` of the same index object — a long-lived one, a snapshot
    swapped with ``latest()`` (as the API does) and a fresh one per search (as the CLI does)."""
    from rabbit_rag.index import open_index

    index = root / "lib"
    _seed_index(index, docs)
    tally = Tally("update race, library")
    writer = _Writer(index, seed)
    held, swapped = open_index(index), open_index(index)
    hits = mismatches = 0
    revisions: set[int] = set()
    rng = random.Random(seed)
    deadline = time.monotonic() + MAX_RACE_S
    try:
        i = 0
        while hits < min_hits or (len(revisions) < MIN_REVISIONS and time.monotonic() < deadline):
            variant = i % 3
            if variant == 1:
                swapped = swapped.latest()
            idx = held if variant == 0 else swapped if variant == 1 else open_index(index)
            for h in idx.search(rng.choice(QUERIES), k=k, mode="bm25"):
                hits += 1
                text = idx.document_text(h.chunk.doc_id)
                if text is None or text[h.chunk.start : h.chunk.end] != h.chunk.text:
                    mismatches += 1
            revisions.add(idx.revision)
            if variant == 2:
                idx.close()
            i += 1
    finally:
        rounds = writer.stop()
    tally.record([f"{mismatches} mismatches"] if mismatches else [], lost=mismatches > 0)
    tally.extra.update(hits=hits, mismatches=mismatches, revisions=len(revisions), writer_rounds=rounds)
    return tally


def update_race_cli(root: Path, min_hits: int, seed: int = 0, docs: int = 30, k: int = 100) -> Tally:
    """``rabbit-rag search --json`` (in-process, a fresh index per call) while a child process updates
    documents: each hit's ``[start:end]`` must be its text in the version of the document it names."""
    from typer.testing import CliRunner

    from rabbit_rag.cli.main import app

    index = root / "cli"
    _seed_index(index, docs)
    tally = Tally("update race, CLI")
    runner = CliRunner()
    writer = _Writer(index, seed)
    hits = mismatches = calls = 0
    rng = random.Random(seed)
    revisions: set[int] = set()
    deadline = time.monotonic() + MAX_RACE_S
    try:
        while hits < min_hits or (len(revisions) < MIN_REVISIONS and time.monotonic() < deadline):
            res = runner.invoke(app, ["search", rng.choice(QUERIES), "--index", str(index), "-k", str(k),
                                      "--mode", "bm25", "--json"])  # fmt: skip
            calls += 1
            if res.exit_code != 0:
                tally.failures.append(f"search exited {res.exit_code}: {res.stderr.strip()[:200]}")
                mismatches += 1
                continue
            for h in json.loads(res.stdout)["results"]:
                hits += 1
                mark = marked(h["text"])
                if mark is not None:
                    revisions.add(mark[1])
                if mark is None or doc_text(*mark)[h["start"] : h["end"]] != h["text"]:
                    mismatches += 1
    finally:
        rounds = writer.stop()
    tally.record([f"{mismatches} mismatches"] if mismatches else [], lost=mismatches > 0)
    tally.extra.update(
        hits=hits, mismatches=mismatches, searches=calls, versions_seen=len(revisions), writer_rounds=rounds
    )
    return tally


def update_race_api(client: Any, collection: str, headers: dict[str, str], min_hits: int, seed: int = 0) -> Tally:
    """Over HTTP: searches while upload jobs replace documents; for each hit, ``GET
    …/documents/{id}?revision=R`` (R: the revision the search reported) must return the text the hit's
    offsets point into. ``client``: a started TestClient whose collection holds the seed documents."""
    tally = Tally("update race, API")
    stop = threading.Event()
    rounds = [0]
    errors: list[str] = []

    def write() -> None:
        rng = random.Random(seed)
        version = 1
        while not stop.is_set():
            files = [
                ("files", (f"문서{i:02d}.txt", doc_text(i, version).encode("utf-8"), "text/plain"))
                for i in rng.sample(range(30), 8)
            ]
            r = client.post(f"/v1/collections/{collection}/documents", files=files, headers=headers)
            if r.status_code != 202:
                errors.append(f"upload: {r.status_code} {r.text[:200]}")
                return
            job = r.json()["id"]
            while client.get(f"/v1/jobs/{job}", headers=headers).json()["status"] in ("queued", "running"):
                time.sleep(0.02)
            rounds[0] += 1
            version += 1

    writer = threading.Thread(target=write, name="api-update-writer")
    writer.start()
    hits = mismatches = gone = 0
    revisions: set[int] = set()
    texts: dict[tuple[str, int], str | None] = {}
    rng = random.Random(seed + 1)
    deadline = time.monotonic() + MAX_RACE_S
    try:
        while (hits < min_hits or (len(revisions) < MIN_REVISIONS and time.monotonic() < deadline)) and not errors:
            r = client.post(f"/v1/collections/{collection}/search",
                            json={"query": rng.choice(QUERIES), "top_k": 100, "mode": "bm25"}, headers=headers)  # fmt: skip
            body = r.json()
            rev = body["revision"]
            revisions.add(rev)
            for h in body["results"]:
                hits += 1
                key = (h["doc_id"], rev)
                if key not in texts:
                    d = client.get(f"/v1/collections/{collection}/documents/{h['doc_id']}",
                                   params={"revision": rev}, headers=headers)  # fmt: skip
                    texts[key] = d.json()["text"] if d.status_code == 200 else None
                    gone += d.status_code == 410
                text = texts[key]
                if text is None or text[h["start"] : h["end"]] != h["text"]:
                    mismatches += 1
    finally:
        stop.set()
        writer.join(timeout=120)
    problems = errors + ([f"{mismatches} mismatches ({gone} revisions gone)"] if mismatches else [])
    tally.record(problems, lost=mismatches > 0)
    tally.extra.update(hits=hits, mismatches=mismatches, revisions=len(revisions), writer_rounds=rounds[0])
    return tally


# -- the corruption matrix ---------------------------------------------------------------------------------
DAMAGES = ("zero", "halve", "garble-header", "garble-middle", "delete")


def damage(path: Path, how: str) -> None:
    """Damage one file: truncate to 0 bytes, to half, flip its first or middle 64 bytes, or delete it."""
    if how == "delete":
        path.unlink()
        return
    data = bytearray(path.read_bytes())
    if how == "zero":
        data = bytearray()
    elif how == "halve":
        data = data[: len(data) // 2]
    else:
        at = 0 if how == "garble-header" else len(data) // 2
        for i in range(at, min(at + 64, len(data))):
            data[i] ^= 0xA5
    path.write_bytes(bytes(data))


def corruption_matrix(root: Path, pristine: Path, query: str = "대통령의 임기", mode: str = "hybrid") -> Tally:
    """Every file of a copy of ``pristine`` damaged every way (:data:`DAMAGES`), then
    ``rabbit-rag search --json`` and ``rabbit-rag check --json``. A derived file must come back by
    itself (the same results, exit 0); the docstore may instead give a one-line error (exit 1). A
    traceback, an empty result or a different result with exit 0 counts as lost."""
    from typer.testing import CliRunner

    from rabbit_rag.cli.main import app

    runner = CliRunner()

    def search(index: Path) -> Any:
        return runner.invoke(app, ["search", query, "--index", str(index), "-k", "5", "--mode", mode, "--json"])

    baseline = search(pristine)
    assert baseline.exit_code == 0, baseline.output
    expected = [(h["chunk_id"], h["text"]) for h in json.loads(baseline.stdout)["results"]]
    files = sorted(p.relative_to(pristine) for p in pristine.rglob("*") if p.is_file() and p.name != ".lock")
    tally = Tally("corruption matrix")
    outcomes: dict[str, int] = {}
    for rel in files:
        for how in DAMAGES:
            case = root / f"case-{len(outcomes)}-{tally.trials}"
            shutil.copytree(pristine, case)
            damage(case / rel, how)
            res = search(case)
            derived = rel.name != "docstore.sqlite3"
            problems: list[str] = []
            if res.exception is not None and not isinstance(res.exception, SystemExit):
                problems.append(f"{rel} {how}: traceback ({type(res.exception).__name__}: {res.exception})")
                outcome = "traceback"
            elif "Traceback" in res.output or "Aborted" in res.output:
                problems.append(f"{rel} {how}: {res.output.strip()[:200]}")
                outcome = "traceback"
            elif res.exit_code == 0:
                got = [(h["chunk_id"], h["text"]) for h in json.loads(res.stdout)["results"]]
                outcome = "same results" if got == expected else "different results"
                if got != expected:
                    problems.append(f"{rel} {how}: different results with exit 0")
            else:
                err = res.stderr.strip().splitlines()
                one_line = len(err) == 1 and err[0].startswith("error: ")
                outcome = "one-line error" if one_line else "messy error"
                if not one_line:
                    problems.append(f"{rel} {how}: error output {res.stderr.strip()[:200]!r}")
                elif derived:
                    problems.append(f"{rel} {how}: derived file not rebuilt ({err[0][:160]})")
            check = runner.invoke(app, ["check", "--index", str(case), "--json"])
            if check.exception is not None and not isinstance(check.exception, SystemExit):
                problems.append(f"{rel} {how}: check traceback ({type(check.exception).__name__})")
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
            tally.record(problems, lost=outcome in ("traceback", "different results"))
            shutil.rmtree(case, ignore_errors=True)
    tally.extra.update(outcomes)
    return tally


# -- the server killed while it accepts uploads --------------------------------------------------------
def restart_uploads(root: Path, trials: int, seed: int = 0, uploads: int = 20) -> Tally:
    """Start ``rabbit-rag serve``, upload as fast as possible and SIGKILL the server at a random moment;
    start it again and wait. Every upload answered 202 must end ``succeeded`` with its documents in the
    collection, or ``failed`` with a reason — none may vanish."""
    import httpx

    from tests.api.live import free_port

    rng = random.Random(seed)
    tally = Tally("server killed while accepting uploads")
    index_root = root / "srv"
    index_root.mkdir(parents=True, exist_ok=True)

    def serve() -> tuple[subprocess.Popen[bytes], str]:
        port = free_port()
        proc = subprocess.Popen(
            [sys.executable, "-m", "rabbit_rag.cli.main", "serve", "--index-root", str(index_root), "--port",
             str(port), "--no-auth", "--log-level", "warning"],
            cwd=ROOT, env={**ENV, "RABBIT_RAG_API_PRELOAD": "false"}, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    return proc, base
            except httpx.HTTPError:
                time.sleep(0.1)
        _kill(proc)
        raise RuntimeError("the server did not start")

    slow = 0

    def get(url: str, deadline: float, **kw: Any) -> httpx.Response:
        """GET, retried on a timeout until ``deadline`` (a loaded machine can stall an answer; a
        server that never answers still fails the trial)."""
        nonlocal slow
        while True:
            try:
                return httpx.get(url, timeout=30, **kw)
            except httpx.TimeoutException:
                slow += 1
                if time.monotonic() > deadline:
                    raise

    total_accepted = 0
    for t in range(trials):
        name = f"c{t}"
        proc, base = serve()
        accepted: dict[str, list[str]] = {}
        try:
            httpx.post(f"{base}/v1/collections", json={"name": name, "embed_model": "none"}, timeout=60)
            kill_after = rng.randint(1, uploads)
            for u in range(uploads):
                labels = [f"u{t}-{u}-{j}.txt" for j in range(rng.randint(1, 3))]
                files = [("files", (lb, doc_text(u * 10 + j, t).encode(), "text/plain")) for j, lb in enumerate(labels)]
                try:
                    r = httpx.post(f"{base}/v1/collections/{name}/documents", files=files, timeout=60)
                except httpx.HTTPError:
                    break
                if r.status_code == 202:
                    accepted[r.json()["id"]] = labels
                if u + 1 == kill_after:
                    break
        finally:
            _kill(proc)
        total_accepted += len(accepted)
        proc, base = serve()
        problems: list[str] = []
        lost = False
        try:
            deadline = time.monotonic() + 300
            for job_id in accepted:
                while True:
                    r = get(f"{base}/v1/jobs/{job_id}", deadline)
                    if r.status_code != 200:
                        problems.append(f"job {job_id}: {r.status_code} after the restart")
                        lost = True
                        break
                    job = r.json()
                    if job["status"] not in ("queued", "running") or time.monotonic() > deadline:
                        break
                    time.sleep(0.1)
                if r.status_code != 200:
                    continue
                if job["status"] == "failed":
                    if not (job.get("error") or {}).get("message"):
                        problems.append(f"job {job_id} failed without a reason")
                        lost = True
                elif job["status"] != "succeeded":
                    problems.append(f"job {job_id} ended {job['status']}")
                    lost = True
            docs = get(f"{base}/v1/collections/{name}/documents", deadline, params={"limit": 1000}).json()
            have = {d["source"] for d in docs.get("documents", [])}
            for job_id, labels in accepted.items():
                r = get(f"{base}/v1/jobs/{job_id}", deadline)
                if r.status_code == 200 and r.json()["status"] == "succeeded" and not set(labels) <= have:
                    problems.append(f"job {job_id} succeeded but {sorted(set(labels) - have)} are missing")
                    lost = True
        finally:
            _kill(proc)
        tally.record(problems, lost)
    tally.extra["uploads accepted"] = total_accepted
    tally.extra["reads over 30 s"] = slow
    return tally


# -- the child processes -----------------------------------------------------------------------------------
def _main(argv: list[str]) -> int:
    cmd = argv[0]
    if cmd == "ingest":
        from rabbit_rag.ingest import ingest_paths
        from rabbit_rag.text.kiwi import get_kiwi

        get_kiwi()  # loaded first, so the kill lands in the ingest itself
        Path(argv[3]).touch()
        ingest_paths([argv[1]], argv[2], embed_model="none", progress=False, sync="--sync" in argv)
        return 0
    if cmd == "update-writer":
        from rabbit_rag.ingest import ingest_documents
        from rabbit_rag.text.kiwi import get_kiwi
        from rabbit_rag.types import Document

        index, stop, seed = Path(argv[1]), Path(argv[2]), int(argv[3])
        rng = random.Random(seed)
        rounds = 0
        get_kiwi()
        Path(f"{stop}.ready").touch()
        while not stop.exists() and rounds < 10_000:
            rounds += 1
            docs = [Document(source=f"문서{i:02d}.txt", text=doc_text(i, rounds)) for i in rng.sample(range(30), 8)]
            ingest_documents(docs, index, embed_model="none", progress=False)
        print(f"rounds={rounds}", file=sys.stderr)
        return 0
    if cmd == "create":
        from rabbit_rag.ingest import ingest_documents
        from rabbit_rag.text.kiwi import get_kiwi
        from rabbit_rag.types import Document

        index, go, name = Path(argv[1]), Path(argv[2]), argv[3]
        get_kiwi()  # loaded before the start line, so both writers really start together
        Path(f"{index}.ready-{name}").touch()
        while not go.exists():
            time.sleep(0.005)
        doc = Document(source=f"{name}.txt", text=f"{name} 문서의 내용이다. 임기는 4년이다.")
        ingest_documents([doc], index, embed_model="none", progress=False)
        return 0
    print(f"unknown command {cmd!r}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
