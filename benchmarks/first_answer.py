"""The first answer: how long `rabbit-rag search` and `ask --llm extractive` take on a BM25-only index,
beside a bare `Kiwi()` load, measured side by side in one run.

Each round runs, in a fresh process each and interleaved (so the machine's load hits all of them alike):

- ``Kiwi() load``: ``python -c "from kiwipiepy import Kiwi; Kiwi().tokenize('대통령')"`` — a bare
  default Kiwi, loaded until it can analyze. kiwipiepy reads its model files in the constructor and
  builds the analyzer on the first call (more than half of the load), so a Kiwi is loaded only once
  it has analyzed something. This is the yardstick: ``search`` and ``ask`` must not take longer.
- ``Kiwi() constructor``: ``python -c "from kiwipiepy import Kiwi; Kiwi()"`` — the constructor alone,
  for reference (our reduced Kiwi's construction plus first analysis takes about as long as this).
- ``search`` and ``ask``: the console script on a BM25-only index of ``samples/``.

It reports medians of wall time, CPU time (user + system, less sensitive to other processes on a
shared machine) and peak memory per process, and the ratios to the ``Kiwi() load``. Then, warm:
one process opens the index once and answers the same question repeatedly (what `rabbit-rag chat`
and the API pay per question). Last, it checks that neither command imported torch, transformers,
sentence-transformers or FAISS.

    python benchmarks/first_answer.py [--rounds 7] [--warm 30]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
QUESTION = "국회의원 임기는?"
HEAVY = ("torch", "transformers", "sentence_transformers", "faiss")


def cli() -> list[str]:
    script = Path(sys.executable).with_name("rabbit-rag")
    return [str(script)] if script.exists() else [sys.executable, "-m", "rabbit_rag"]


def run(argv: list[str], env: dict[str, str]) -> tuple[float, float, float]:
    """(wall s, CPU s, peak RSS MB) of one child process, which must succeed."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    stderr = proc.stderr.read().decode() if proc.stderr else ""
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        sys.exit(f"{' '.join(argv)} failed ({proc.returncode}):\n{stderr}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def imported_heavy(argv_tail: list[str], env: dict[str, str]) -> list[str]:
    """The heavy packages a CLI command imports (run once more under a small wrapper, not timed)."""
    code = (
        "import atexit, sys\n"
        f"atexit.register(lambda: print('HEAVY', sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r})), "
        "file=sys.stderr))\n"
        f"sys.argv = ['rabbit-rag', *{argv_tail!r}]\n"
        "from rabbit_rag.cli.main import main\n"
        "main()\n"
    )
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    line = next((x for x in done.stderr.splitlines() if x.startswith("HEAVY")), None)
    if done.returncode != 0 or line is None:
        sys.exit(f"rabbit-rag {' '.join(argv_tail)} failed:\n{done.stderr}")
    return eval(line[len("HEAVY ") :])  # a list literal we printed ourselves


def warm_times(index: Path, n: int) -> dict[str, float]:
    """Milliseconds per question in one process once everything is loaded (medians)."""
    from rabbit_rag.components import engine_from_settings, open_index_from_settings, retriever_from_settings
    from rabbit_rag.settings import Settings

    s = Settings.defaults()
    t0 = time.perf_counter()
    idx = open_index_from_settings(s, index)
    retriever = retriever_from_settings(s, idx)
    retriever.retrieve(QUESTION, 5)
    first_search = time.perf_counter() - t0
    engine = engine_from_settings(s, idx, llm="extractive")
    searches, asks, chats = [], [], []
    for _ in range(n):
        t = time.perf_counter()
        retriever.retrieve(QUESTION, 5)
        searches.append(time.perf_counter() - t)
        t = time.perf_counter()
        engine.ask(QUESTION)
        asks.append(time.perf_counter() - t)
    chat = engine.chat()
    for question in ["대통령 임기는 몇 년이야?", "그럼 국회의원은?"] * max(1, n // 2):
        t = time.perf_counter()
        chat.ask(question)
        chats.append(time.perf_counter() - t)
    return {
        "first search in the process (open + Kiwi + query)": first_search * 1000,
        "search": statistics.median(searches) * 1000,
        "ask --llm extractive": statistics.median(asks) * 1000,
        "chat turn (extractive, follow-ups)": statistics.median(chats) * 1000,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=7, help="cold runs of each command (medians are reported)")
    ap.add_argument("--warm", type=int, default=30, help="questions timed in the warm process")
    args = ap.parse_args()
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    for var in [v for v in env if v.startswith("RABBIT_RAG_")]:
        env.pop(var)  # the built-in defaults, as on a fresh machine
    tmp = Path(tempfile.mkdtemp(prefix="rabbit-rag-first-"))
    try:
        index = tmp / "sample"
        subprocess.run(
            [*cli(), "ingest", str(ROOT / "samples"), "--index", str(index), "--embed-model", "none", "--json"],
            env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        kiwi = "from kiwipiepy import Kiwi; Kiwi()"
        commands = {
            "Kiwi() load": [sys.executable, "-c", kiwi + ".tokenize('대통령')"],
            "Kiwi() constructor": [sys.executable, "-c", kiwi],
            "search": [*cli(), "search", QUESTION, "--index", str(index)],
            "ask --llm extractive": [*cli(), "ask", QUESTION, "--index", str(index), "--llm", "extractive"],
        }
        for argv in commands.values():  # once untimed: bytecode compiled, files in the page cache
            run(argv, env)
        samples: dict[str, list[tuple[float, float, float]]] = {name: [] for name in commands}
        for _ in range(args.rounds):
            for name, argv in commands.items():
                samples[name].append(run(argv, env))
        base_wall = statistics.median(w for w, _, _ in samples["Kiwi() load"])
        base_cpu = statistics.median(c for _, c, _ in samples["Kiwi() load"])
        print(f"cold, a fresh process each, median of {args.rounds} interleaved rounds (cpu {os.cpu_count()}):")
        print(f"{'':24}{'wall s':>8}{'cpu s':>8}{'peak MB':>9}{'wall / load':>13}{'cpu / load':>12}")
        for name, rows in samples.items():
            wall = statistics.median(w for w, _, _ in rows)
            cpu = statistics.median(c for _, c, _ in rows)
            mem = statistics.median(m for _, _, m in rows)
            print(f"{name:24}{wall:8.2f}{cpu:8.2f}{mem:9.0f}{wall / base_wall:13.2f}{cpu / base_cpu:12.2f}")
        print(f"\nwarm, one process, median of {args.warm} questions:")
        for name, ms in warm_times(index, args.warm).items():
            print(f"  {name:52}{ms:9.1f} ms")
        print("\nheavy packages imported (must be none):")
        for name, tail in {
            "search": ["search", QUESTION, "--index", str(index)],
            "ask --llm extractive": ["ask", QUESTION, "--index", str(index), "--llm", "extractive"],
        }.items():
            print(f"  {name:24}{imported_heavy(tail, env) or 'none'}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
