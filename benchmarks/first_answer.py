"""The first answer: how long `rabbit-rag search` and `ask --llm extractive` take on a BM25-only index,
beside a bare `Kiwi()` load, measured side by side in one run.

Each round runs, in a fresh process each and interleaved (so the machine's load hits all of them alike):

- ``Kiwi() constructor``: ``python -c "from kiwipiepy import Kiwi; Kiwi()"`` — a bare default Kiwi
  constructor, the issue's yardstick read strictly: ``search`` and ``ask`` should take no longer.
- ``Kiwi() load``: the same Kiwi analyzing a word. kiwipiepy reads its model files in the constructor
  and builds the analyzer on the first call (more than half of the load), so a Kiwi is usable only
  once it has analyzed something: the yardstick read as "a Kiwi you can use".
- ``floor``: ``import numpy, sqlite3`` and *our* Kiwi (``KIWI_OPTIONS``: no typo or multi-word
  dictionary) analyzing a word — what any BM25 search in a fresh Python process must pay before
  rabbit-rag's own code (numpy scores BM25, SQLite holds the chunks, Kiwi analyzes the query).
  ``floor, no default dict``: the same without Kiwi's default dictionary (which rabbit-rag keeps; its
  cost in recall is in ``benchmarks/kiwi_dictionaries.py``).
- ``open_index().search``: the same first answer from Python (``rabbit_rag.index.open_index``), no CLI.
- ``search`` and ``ask``: the console script on a BM25-only index of ``samples/``.

It reports medians of wall time, CPU time (user + system, less sensitive to other processes on a
shared machine) and peak memory per process, and the ratios to the constructor and to the load.
Then where a cold ``search`` spends its CPU, step by step in one fresh process (medians over the
rounds; what is left of the command's median is typer's argument parsing and the output). Then,
warm: one process opens the index once and answers the same question repeatedly (what `rabbit-rag
chat` and the API pay per question). Last, it checks that neither command imported torch,
transformers, sentence-transformers or FAISS.

    python benchmarks/first_answer.py [--rounds 7] [--warm 30]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rabbit_rag.text.kiwi import KIWI_OPTIONS

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


#: One cold search done by hand in a fresh process, with the process's CPU time after each step.
BREAKDOWN = """
import json, resource, sys
def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime
steps = [("interpreter start", cpu())]
import numpy, sqlite3
steps.append(("import numpy, sqlite3", cpu()))
import kiwipiepy
steps.append(("import kiwipiepy", cpu()))
import rabbit_rag.index.reader, rabbit_rag.retrieval
steps.append(("import rabbit_rag's index and retrievers", cpu()))
import rabbit_rag.cli.main
steps.append(("import the CLI (typer, command modules)", cpu()))
import rabbit_rag.components, rabbit_rag.schemas, rabbit_rag.engine
steps.append(("import settings, JSON models, engine (pydantic, pydantic-settings)", cpu()))
from rabbit_rag.cli.common import settings
from rabbit_rag.components import open_index_from_settings, retriever_from_settings
s = settings()
idx = open_index_from_settings(s, sys.argv[1])
retriever = retriever_from_settings(s, idx)
steps.append(("load settings, open the index", cpu()))
from rabbit_rag.text.kiwi import get_kiwi
kiwi = get_kiwi()
steps.append(("Kiwi constructor (our options)", cpu()))
kiwi.tokenize("대통령")
steps.append(("Kiwi's first analysis (builds the analyzer)", cpu()))
retriever.retrieve(sys.argv[2], 5)
steps.append(("the query", cpu()))
print(json.dumps(steps))
"""


def breakdown(index: Path, env: dict[str, str]) -> list[tuple[str, float]]:
    """CPU seconds of each step of one cold search (see :data:`BREAKDOWN`)."""
    done = subprocess.run(
        [sys.executable, "-c", BREAKDOWN, str(index), QUESTION], env=env, capture_output=True, text=True
    )
    if done.returncode != 0:
        sys.exit(f"the search breakdown failed:\n{done.stderr}")
    steps = json.loads(done.stdout.strip().splitlines()[-1])
    return [(name, t - (steps[i - 1][1] if i else 0.0)) for i, (name, t) in enumerate(steps)]


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
        ours = f"import numpy, sqlite3; from kiwipiepy import Kiwi; Kiwi(**{KIWI_OPTIONS!r})"
        library = (
            f"from rabbit_rag.index import open_index; open_index({str(index)!r}).search({QUESTION!r}, 5, mode='bm25')"
        )
        commands = {
            "Kiwi() constructor": [sys.executable, "-c", kiwi],
            "Kiwi() load": [sys.executable, "-c", kiwi + ".tokenize('대통령')"],
            "floor (numpy + our Kiwi)": [sys.executable, "-c", ours + ".tokenize('대통령')"],
            "floor, no default dict": [
                sys.executable,
                "-c",
                ours[:-1] + ", load_default_dict=False).tokenize('대통령')",
            ],
            "open_index().search": [sys.executable, "-c", library],
            "search": [*cli(), "search", QUESTION, "--index", str(index)],
            "ask --llm extractive": [*cli(), "ask", QUESTION, "--index", str(index), "--llm", "extractive"],
        }
        for argv in commands.values():  # once untimed: bytecode compiled, files in the page cache
            run(argv, env)
        samples: dict[str, list[tuple[float, float, float]]] = {name: [] for name in commands}
        steps: list[list[tuple[str, float]]] = []
        for _ in range(args.rounds):
            for name, argv in commands.items():
                samples[name].append(run(argv, env))
            steps.append(breakdown(index, env))
        med = {
            name: tuple(statistics.median(row[i] for row in rows) for i in range(3)) for name, rows in samples.items()
        }
        ctor_wall, ctor_cpu, _ = med["Kiwi() constructor"]
        load_wall, load_cpu, _ = med["Kiwi() load"]
        print(f"cold, a fresh process each, median of {args.rounds} interleaved rounds (cpu {os.cpu_count()}):")
        print(
            f"{'':26}{'wall s':>7}{'cpu s':>7}{'peak MB':>8}{'wall/ctor':>10}{'cpu/ctor':>9}"
            f"{'wall/load':>10}{'cpu/load':>9}"
        )
        for name, (wall, cpu, mem) in med.items():
            print(
                f"{name:26}{wall:7.2f}{cpu:7.2f}{mem:8.0f}{wall / ctor_wall:10.2f}{cpu / ctor_cpu:9.2f}"
                f"{wall / load_wall:10.2f}{cpu / load_cpu:9.2f}"
            )
        print(f"\nwhere a cold search spends its CPU, one fresh process, medians of {args.rounds}:")
        for i, (name, _) in enumerate(steps[0]):
            print(f"  {name:68}{statistics.median(run_steps[i][1] for run_steps in steps):6.2f} s")
        rest = med["search"][1] - statistics.median(sum(t for _, t in run_steps) for run_steps in steps)
        print(f"  {'the rest of `rabbit-rag search` (typer parsing arguments, output)':68}{rest:6.2f} s")
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
