"""Why the ``transformers`` backend generates on one long-lived thread: decode speed by calling thread.

``TransformersChatModel`` streams by running ``model.generate`` on a worker thread while the caller
reads a ``TextIteratorStreamer``. This script times the same greedy generation (random weights at the
real Llama-3.2-3B shape, the RAG prompt of ``generation_speed.py``) called in different ways:

* ``A`` plain ``model.generate`` on the main thread (the reference);
* ``B`` the same with a streamer that only counts tokens;
* ``E`` the same with a stopping criterion like the backend's;
* ``C2`` ``generate`` on a new thread per call (what the backend did before), no streamer;
* ``C`` a new thread per call with ``TextIteratorStreamer`` (the pattern in the transformers docs);
* ``C3`` one reused worker thread, no streamer;
* ``D`` the rabbit-rag backend (``TransformersChatModel.stream_chat`` with ``decoder="generate"``).

Decode tok/s = (N - 1) / (time for N new tokens - time for 1), medians of 3 calls after a warm-up.

Usage::

    python benchmarks/generation_threads.py            # CUDA if present, else CPU (where threads do not matter)
    python benchmarks/generation_threads.py --layers 4 # a shorter model (says so)
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT.parent))

import generation_speed as g  # noqa: E402


def run_variants(model: Any, tok: Any, msgs: Any, dev: str, n_new: int, runs: int = 3) -> dict[str, dict[str, float]]:
    """Time every variant on ``model``; prints one line per variant and returns ``{label: {t1_s, tn_s,
    decode_tok_s}}`` (medians of ``runs`` calls after a warm-up)."""
    import torch
    from transformers import StoppingCriteria, StoppingCriteriaList, TextIteratorStreamer
    from transformers.generation.streamers import BaseStreamer

    from rabbit_rag.generators.transformers_chat import TransformersChatModel

    ids = tok.apply_chat_template(msgs, add_generation_prompt=True, tokenize=True, return_dict=False)
    x = torch.tensor([ids], device=dev)
    kw: dict[str, Any] = {
        "attention_mask": torch.ones_like(x),
        "do_sample": False,
        "eos_token_id": None,
        "pad_token_id": 0,
    }

    class Count(BaseStreamer):
        def put(self, value: Any) -> None:
            pass

        def end(self) -> None:
            pass

    class Watch(StoppingCriteria):
        def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
            return torch.full((input_ids.shape[0],), False, dtype=torch.bool, device=input_ids.device)

    def plain(n: int, **extra: Any) -> None:
        model.generate(input_ids=x, max_new_tokens=n, min_new_tokens=n, **kw, **extra)

    def new_thread(n: int, stream: bool = False) -> None:
        st = TextIteratorStreamer(tok, skip_prompt=True, skip_special_tokens=True) if stream else None
        th = threading.Thread(target=lambda: plain(n, streamer=st))
        th.start()
        for _ in st or ():
            pass
        th.join()

    pool = ThreadPoolExecutor(max_workers=1)

    def reused_thread(n: int) -> None:
        def job() -> None:
            with torch.inference_mode():
                plain(n)

        pool.submit(job).result()

    # decoder="generate": this script is about generate's threads; the static decoder has its own figures
    # (benchmarks/gpu_session.py)
    chat = TransformersChatModel.from_objects(model, tok, name="threads", decoder="generate")
    chat.stop_token_ids = []  # random weights: time every token
    variants: dict[str, Callable[[int], None]] = {
        "A  plain generate, main thread": plain,
        "B  main thread + counting streamer": lambda n: plain(n, streamer=Count()),
        "E  main thread + stopping criterion": lambda n: plain(n, stopping_criteria=StoppingCriteriaList([Watch()])),
        "C2 new thread per call, no streamer": new_thread,
        "C  new thread per call + TextIteratorStreamer": lambda n: new_thread(n, True),
        "C3 one reused worker thread, no streamer": reused_thread,
        "D  rabbit-rag backend (stream_chat, generate)": lambda n: list(chat.stream_chat(msgs, max_new_tokens=n)),
    }

    def timed(fn: Callable[[int], None], n: int) -> float:
        return g.timed_call(lambda: fn(n), dev)

    out: dict[str, dict[str, float]] = {}
    try:
        for label, fn in variants.items():
            timed(fn, 4)  # warm-up
            t1 = statistics.median(timed(fn, 1) for _ in range(runs))
            tn = statistics.median(timed(fn, n_new) for _ in range(runs))
            rate = (n_new - 1) / (tn - t1)
            out[label] = {"t1_s": t1, "tn_s": tn, "decode_tok_s": rate}
            print(
                f"{label:<48} T1 {t1 * 1000:7.1f} ms  T{n_new} {tn * 1000:7.1f} ms  decode {rate:6.1f} tok/s",
                flush=True,
            )
    finally:
        pool.shutdown()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--layers", type=int, default=28, help="decoder layers to keep (28 = the real model)")
    ap.add_argument("--new-tokens", type=int, default=32)
    args = ap.parse_args()

    import torch

    dev = "cuda" if torch.cuda.is_available() else "cpu"
    dtype = torch.bfloat16 if dev == "cuda" else torch.float32
    tok = g.build_tokenizer()
    model = g.build_model(args.layers, dtype, dev)
    msgs, _ = g.rag_messages(tok, 1500, 64)
    ids = tok.apply_chat_template(msgs, add_generation_prompt=True, tokenize=True, return_dict=False)
    where = torch.cuda.get_device_name(0) if dev == "cuda" else f"CPU, {torch.get_num_threads()} threads"
    short = "" if args.layers == 28 else " (SHORTENED model)"
    print(f"device: {where}; torch {torch.__version__}; {args.layers} of 28 layers{short}; prompt {len(ids)} tokens")
    run_variants(model, tok, msgs, dev, args.new_tokens)


if __name__ == "__main__":
    main()
