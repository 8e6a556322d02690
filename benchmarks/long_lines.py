"""How long a 1 MB file that is one single line takes to parse, per text type (linear-time readers).

Each file goes through the parse worker (the child process ``rabbit-rag ingest`` uses, with its time
limit) exactly as an upload would: plain text, CSV/TSV, reStructuredText, Markdown and HTML, with
adversarial lines (Korean prose, no spaces at all, a run of ``#``, a setext-underline-like run of
``=``) that the former Markdown patterns backtracked over (an 843 KB line took over 120 s). For
comparison it also times the former setext pattern on growing lines, to show its quadratic growth.

    python benchmarks/long_lines.py [--repeat 3] [--mb 1]
"""

from __future__ import annotations

import argparse
import re
import statistics
import time

WORDS = "대한민국은 민주공화국이다 제1조 ① 모든 권력은 국민으로부터 나온다. "
TYPES = [".txt", ".log", ".csv", ".tsv", ".rst", ".md", ".markdown", ".html"]
#: the setext-heading pattern ``ingest/readers/text.py`` used before it became a linear scan
FORMER_SETEXT = re.compile(r"^([^\n]*\S[^\n]*)\n {0,3}(=+|-+)[ \t]*$", re.MULTILINE)


def lines(size: int) -> dict[str, str]:
    def rep(unit: str) -> str:
        return unit * (size // len(unit.encode("utf-8")) + 1)

    return {
        "korean": rep(WORDS),
        "no-spaces": rep("가"),
        "hashes": "# " + "#" * (size - 2),
        "underline": "= " * (size // 2),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--mb", type=float, default=1.0)
    args = ap.parse_args()
    size = int(args.mb * 1_000_000)

    from rabbit_rag.ingest.readers.isolation import ParseWorker
    from rabbit_rag.ingest.readers.limits import ReadLimits

    kinds = lines(size)
    print(f"one-line files of {size / 1e6:g} MB through the parse worker (median of {args.repeat}, seconds)")
    print(f"{'type':<10}" + "".join(f"{k:>12}" for k in kinds))
    worst = 0.0
    with ParseWorker(ReadLimits(timeout_s=120)) as worker:
        worker.read(b"warm up", "a.txt")
        for ext in TYPES:
            row = []
            for line in kinds.values():
                data = (f"<html><body><p>{line}</p></body></html>" if ext == ".html" else line).encode("utf-8")
                times = []
                for _ in range(args.repeat):
                    t = time.perf_counter()
                    worker.read(data, f"긴줄{ext}")
                    times.append(time.perf_counter() - t)
                row.append(statistics.median(times))
            worst = max(worst, *row)
            print(f"{ext:<10}" + "".join(f"{s:>12.2f}" for s in row))
    print(f"slowest: {worst:.2f} s")

    print("\nthe former setext pattern on one line of '가' (no newline), seconds:")
    for n in (2_000, 4_000, 8_000):
        text = "가" * n
        t = time.perf_counter()
        FORMER_SETEXT.findall(text)
        print(f"  {n:>6} chars: {time.perf_counter() - t:.2f}")


if __name__ == "__main__":
    main()
