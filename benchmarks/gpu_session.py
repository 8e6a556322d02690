"""One prepared GPU session for issue 16 (generation at the GPU's bandwidth bound): every figure the issue
asks for, in one run that fits a 10-minute device call.

Usage::

    python3 benchmarks/gpu_session.py                  # on the device (H200): at most 8 minutes
    python3 benchmarks/gpu_session.py --budget 540     # total wall-clock budget in seconds (default 480)
    python3 benchmarks/gpu_session.py --stages env,static
    python3 benchmarks/gpu_session.py --dry-run        # here, on CPU: tiny shapes, the same code paths

The model is randomly initialised at the real Llama-3.2-3B shape of Rabbit-Ko-3B (28 layers, hidden
3072, 24/8 heads, intermediate 8192, vocab 128256, bf16; see ``generation_speed.py``): compute and
memory traffic do not depend on the weights' values. The prompt is a ~1,500-token RAG prompt.

Stages, in order of priority; each runs in its own process with its own time limit, so a crash (a CUDA
device-side assert poisons the whole process) or a timeout costs that stage only, and whatever a stage
reported before it failed is kept:

1. ``env``       device, versions, measured bandwidth (a device-to-device copy and a GEMV read), the
                 decode bound of the 3B shape at a 1.5k context;
2. ``static``    the static decoder with CUDA graphs (the new default on CUDA): set-up and capture time,
                 TTFT for the 1.5k prompt, steady batch-1 decode tok/s and its share of the bound, greedy
                 agreement with ``model.generate``; aggregate tok/s for 1, 4 and 16 concurrent streams and
                 agreement of concurrent with sequential outputs;
3. ``threads``   ``generation_threads.py``'s variants A, B, E, C2, C, C3, D (generate's threads, 32 tokens);
4. ``reference`` ``generation_speed.py --reference --decoder generate``: the generate backend beside
                 plain ``model.generate`` on the main thread;
5. ``compiled``  the static decoder with ``torch.compile`` of the step, then CUDA graphs: compile time,
                 batch-1 decode, 16 streams;
6. ``eager``     the static decoder without CUDA graphs (what the graphs buy);
7. ``hf_cb``     transformers' own continuous batching (``generate_batch``), 16 prompts, for comparison.

A stage starts only with enough of the budget left, and gets at most what is left; expected on an
H200 (estimates, not measured): env 20 s, static 60 s, threads 70 s, reference 35 s, compiled 150-250 s
(two compilations of the 28-layer step), eager 45 s, hf_cb 60 s.

Every figure is printed as it is measured, a summary at the end, and all of it as JSON to
``$OUT/gpu_session.json`` (or ``--out``). Needs only torch and transformers (no kiwipiepy, no network);
``--dry-run`` checks that too, by refusing the project's other dependencies in the stage processes.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

MARK = "@@gpu_session "
#: Packages of the project that the device image lacks: the dry run refuses them in stage processes.
NOT_ON_DEVICE = ("kiwipiepy", "bm25s", "faiss", "pydantic", "pydantic_settings", "pypdf", "olefile", "selectolax")

FULL = {
    "layers": 28, "shape": {}, "dtype": "bfloat16", "prompt_tokens": 1500, "ttft_runs": 5,
    "b1_tokens": 256, "b1_runs": 3, "agree_tokens": 64, "streams": [1, 4, 16], "stream_tokens": 256,
    "eager_tokens": 64, "eager_streams": [1, 16], "threads_tokens": 32, "ref_tokens": 32,
    "compiled_streams": [1, 16], "cb_prompts": 16, "cb_tokens": 128,
}  # fmt: skip
DRY = {
    "layers": 2,
    "shape": {"hidden_size": 256, "intermediate_size": 512, "num_attention_heads": 4, "num_key_value_heads": 2,
              "head_dim": 64},
    "dtype": "float32", "prompt_tokens": 600, "ttft_runs": 2, "b1_tokens": 24, "b1_runs": 2, "agree_tokens": 16,
    "streams": [1, 2, 4], "stream_tokens": 16, "eager_tokens": 12, "eager_streams": [1, 4], "threads_tokens": 8,
    "ref_tokens": 8, "compiled_streams": [1, 4], "cb_prompts": 4, "cb_tokens": 8,
}  # fmt: skip

#: (name, most seconds it may take, fewest seconds worth starting it with)
STAGES = [
    ("env", 60, 20),
    ("static", 170, 60),
    ("threads", 150, 60),
    ("reference", 90, 40),
    ("compiled", 300, 90),
    ("eager", 90, 40),
    ("hf_cb", 120, 45),
]


# -- inside a stage process --------------------------------------------------------------------------------


class Stage:
    """What a stage process reports: each figure printed at once and marked for the orchestrator."""

    def __init__(self, name: str, cfg: dict[str, Any]) -> None:
        self.name, self.cfg = name, cfg

    def emit(self, key: str, **values: Any) -> None:
        print(MARK + json.dumps({"stage": self.name, "key": key, **values}, default=str), flush=True)

    def say(self, text: str) -> None:
        print(f"[{self.name}] {text}", flush=True)

    def attempt(self, key: str, fn: Callable[[], None]) -> None:
        """Run one measurement; an exception is reported under ``key`` and the stage goes on."""
        try:
            fn()
        except Exception as e:
            self.say(f"{key} FAILED: {type(e).__name__}: {e}")
            self.emit(key, error=f"{type(e).__name__}: {str(e)[:500]}", trace=traceback.format_exc()[-1500:])
            sync_or_die(self)


def sync_or_die(stage: Stage) -> None:
    """After a failure: if the CUDA context is broken (a device-side assert), later work here is futile."""
    import torch

    if torch.cuda.is_available():
        try:
            torch.cuda.synchronize()
        except Exception as e:
            stage.say(f"CUDA context unusable after the failure ({type(e).__name__}); ending this stage")
            stage.emit("context_lost", error=str(e)[:300])
            sys.stdout.flush()
            os._exit(3)


def block_imports(names: tuple[str, ...]) -> None:
    """Make ``import name`` fail as it would on the device image."""
    import importlib.abc

    class Refuse(importlib.abc.MetaPathFinder):
        def find_spec(self, fullname: str, path: Any, target: Any = None) -> Any:
            if fullname.split(".")[0] in names:
                raise ImportError(f"{fullname} is not installed on the device image (dry-run refuses it)")
            return None

    sys.meta_path.insert(0, Refuse())


def device_and_dtype(cfg: dict[str, Any]) -> tuple[str, Any]:
    import torch

    device = "cuda" if torch.cuda.is_available() and not cfg.get("cpu") else "cpu"
    return device, getattr(torch, cfg["dtype"])


def build(cfg: dict[str, Any]) -> tuple[Any, Any, str, Any]:
    """The random model, the Llama 3 tokenizer of ``generation_speed.py``, the device and the dtype."""
    import generation_speed as g

    device, dtype = device_and_dtype(cfg)
    t0 = time.perf_counter()
    model = g.build_model(cfg["layers"], dtype, device, **cfg["shape"])
    if device == "cuda":
        import torch

        torch.cuda.synchronize()
    return model, g.build_tokenizer(), device, (dtype, time.perf_counter() - t0)


def prompts(tok: Any, cfg: dict[str, Any], n: int) -> list[list[dict[str, str]]]:
    """``n`` RAG prompts of about ``prompt_tokens`` tokens that differ in their last words (so concurrent
    streams do not all decode the same sequence)."""
    import generation_speed as g

    messages, _ = g.rag_messages(tok, cfg["prompt_tokens"], 512)
    out = []
    for i in range(n):
        m = [dict(x) for x in messages]
        m[-1]["content"] += f" ({i + 1}번째 질문)"
        out.append(m)
    return out


def weights_and_bound(model: Any, context: int, bandwidth: float | None) -> dict[str, float | None]:
    weight_bytes = sum(p.numel() * p.element_size() for p in model.parameters())
    cfg = model.config
    dtype_bytes = next(model.parameters()).element_size()
    kv = 2 * cfg.num_hidden_layers * cfg.num_key_value_heads * cfg.head_dim * context * dtype_bytes
    return {
        "weights_gb": weight_bytes / 1e9,
        "kv_gb": kv / 1e9,
        "bound_tok_s": None if not bandwidth else bandwidth / (weight_bytes + kv),
    }


def measure_bandwidth(device: str, dtype: Any) -> dict[str, float]:
    """Bytes/s of a device-to-device copy (read + write counted) and of a GEMV reading 1 GiB of ``dtype``
    weights (what decoding does), best of 10 each."""
    import generation_speed as g
    import torch

    copy_bw = g.bandwidth(device, dtype)
    if device != "cuda":
        return {"copy_bytes_s": copy_bw}
    rows = (1 << 30) // dtype.itemsize // 8192
    w = torch.ones(rows, 8192, dtype=dtype, device=device)
    x = torch.ones(1, 8192, dtype=dtype, device=device)
    best = float("inf")
    for _ in range(12):
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        torch.nn.functional.linear(x, w)
        torch.cuda.synchronize()
        best = min(best, time.perf_counter() - t0)
    return {"copy_bytes_s": copy_bw, "gemv_bytes_s": w.numel() * dtype.itemsize / best}


def stage_env(st: Stage) -> None:
    import torch
    import transformers

    cfg = st.cfg
    device, dtype = device_and_dtype(cfg)
    info: dict[str, Any] = {
        "python": sys.version.split()[0], "torch": torch.__version__, "transformers": transformers.__version__,
        "device": torch.cuda.get_device_name(0) if device == "cuda" else f"CPU, {torch.get_num_threads()} threads",
        "cuda": torch.version.cuda, "dry_run": bool(cfg.get("dry_run")),
    }  # fmt: skip
    try:
        import triton

        info["triton"] = triton.__version__
    except ImportError:
        info["triton"] = None
    st.say(json.dumps(info))
    st.emit("versions", **info)
    bw = measure_bandwidth(device, dtype)
    st.say(", ".join(f"{k} {v / 1e9:.0f} GB/s" for k, v in bw.items()))
    model, _, _, (_, build_s) = build(cfg)
    context = cfg["prompt_tokens"] + 128
    bounds = {k: weights_and_bound(model, context, v)["bound_tok_s"] for k, v in bw.items()}
    wb = weights_and_bound(model, context, bw["copy_bytes_s"])
    st.say(
        f"model built in {build_s:.1f} s: {wb['weights_gb']:.2f} GB weights + {wb['kv_gb'] * 1e3:.0f} MB KV at "
        f"{context} tokens; bound " + ", ".join(f"{k.split('_')[0]} {v:.0f} tok/s" for k, v in bounds.items())
    )
    st.emit("bandwidth", **{k: v / 1e9 for k, v in bw.items()}, unit="GB/s")
    st.emit("bound", context_tokens=context, build_s=build_s, **wb, by_probe=bounds)


def new_chat(model: Any, tok: Any, **options: Any) -> tuple[Any, float]:
    from rabbit_rag.generators.transformers_chat import TransformersChatModel

    t0 = time.perf_counter()
    chat = TransformersChatModel.from_objects(model, tok, name="random-llama-3.2-3b", **options)
    setup_s = time.perf_counter() - t0
    chat.stop_token_ids = []  # random weights must not stop early on an end token: time every token
    return chat, setup_s


def ttft_and_decode(st: Stage, chat: Any, messages: Any, key: str, runs: int, tokens: int, ttft_runs: int) -> None:
    """TTFT (median of ``ttft_runs`` one-token answers) and steady decode tok/s (median of ``runs``
    ``tokens``-token answers; (tokens - 1) / (total - first token))."""
    n_prompt = chat.count_tokens(messages)
    ttft = []
    for _ in range(ttft_runs):
        list(chat.stream_chat(messages, max_new_tokens=1))
        ttft.append(chat.last_stats.first_token_s)
    rates, totals = [], []
    for _ in range(runs):
        list(chat.stream_chat(messages, max_new_tokens=tokens))
        s = chat.last_stats
        rates.append(s.decode_tokens_per_s)
        totals.append(s.new_tokens)
    r = {
        "prompt_tokens": n_prompt, "ttft_s": statistics.median(ttft), "ttft_all_s": ttft,
        "decode_tok_s": statistics.median(rates), "decode_all_tok_s": rates, "new_tokens": min(totals),
    }  # fmt: skip
    st.say(
        f"{key}: prompt {n_prompt} tokens, TTFT {r['ttft_s'] * 1000:.1f} ms (median of {ttft_runs}), "
        f"decode {r['decode_tok_s']:.1f} tok/s (median of {runs} x {tokens} tokens: "
        + ", ".join(f"{x:.1f}" for x in rates)
        + ")"
    )
    st.emit(key, **r)


def concurrent(st: Stage, chat: Any, all_messages: list[Any], n: int, tokens: int, key: str) -> dict[str, Any]:
    """``n`` streams started together (a barrier), each ``tokens`` tokens: wall-clock aggregate, decode
    aggregate (tokens after the first / from the first first-token to the last finish), TTFT spread."""
    from rabbit_rag.generators.static_decode import IncrementalDetokenizer

    decoder = chat.static_decoder
    barrier = threading.Barrier(n + 1)
    out: list[dict[str, Any]] = [{} for _ in range(n)]
    errors: list[BaseException] = []

    def one(i: int) -> None:
        try:
            ids = chat.encode(all_messages[i % len(all_messages)])
            detok = IncrementalDetokenizer(chat.tokenizer)  # the reader's work in stream_chat, in parallel
            barrier.wait()
            req = decoder.submit(ids, tokens)
            toks = []
            for token in req:
                toks.append(token)
                detok.push(token)
            out[i] = {"tokens": toks, "new": req.new_tokens, "t_sub": req.submitted_at,
                      "t_first": req.first_token_at, "t_end": req.finished_at}  # fmt: skip
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    barrier.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    if errors:
        raise errors[0]
    total = sum(o["new"] for o in out)
    first_first = min(o["t_first"] for o in out)
    last_end = max(o["t_end"] for o in out)
    decode_agg = sum(o["new"] - 1 for o in out) / max(last_end - first_first, 1e-9)
    ttfts = sorted(o["t_first"] - o["t_sub"] for o in out)
    r = {
        "streams": n, "tokens_each": tokens, "wall_s": wall, "aggregate_tok_s": total / wall,
        "decode_aggregate_tok_s": decode_agg, "per_stream_tok_s": decode_agg / n,
        "ttft_min_s": ttfts[0], "ttft_median_s": statistics.median(ttfts), "ttft_max_s": ttfts[-1],
    }  # fmt: skip
    st.say(
        f"{key}: {n} streams x {tokens} tokens in {wall:.2f} s: aggregate {r['aggregate_tok_s']:.0f} tok/s "
        f"(decode {decode_agg:.0f} tok/s, {decode_agg / n:.0f} per stream), TTFT {ttfts[0] * 1000:.0f}-"
        f"{ttfts[-1] * 1000:.0f} ms"
    )
    st.emit(key, **r)
    return {"outputs": [o["tokens"] for o in out], **r}


def agreement(a: list[int], b: list[int]) -> int:
    """Leading tokens two greedy sequences share."""
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def static_stage(st: Stage, *, cuda_graphs: bool, compile_step: bool, prefix: str) -> None:
    import torch

    cfg = st.cfg
    model, tok, device, (dtype, build_s) = build(cfg)
    st.say(f"model built in {build_s:.1f} s on {device}")
    options = {"max_batch": max(cfg["streams"]), "cuda_graphs": cuda_graphs, "compile_step": compile_step}
    try:
        chat, setup_s = new_chat(model, tok, decoder="static", **options)
    except Exception as e:  # the start-up self-check is strict; measure anyway, and say so
        if "self-check" not in str(e):
            raise
        from rabbit_rag.generators.static_decode import StaticDecoder

        st.say(f"decoder refused by its self-check ({e}); measuring with the self-check off")
        st.emit(f"{prefix}_self_check_refused", error=str(e))
        chat, _ = new_chat(model, tok, decoder="generate")
        t0 = time.perf_counter()
        chat.static_decoder = StaticDecoder(
            model, slots=options["max_batch"], max_tokens=8192, cuda_graphs=cuda_graphs, compile_step=compile_step,
            self_check=False,
        )  # fmt: skip
        setup_s = time.perf_counter() - t0
    info = chat.static_decoder.info
    st.say(f"decoder set-up {setup_s:.1f} s: {info}")
    st.emit(f"{prefix}_setup", setup_s=setup_s, **info.__dict__)
    msgs = prompts(tok, cfg, max(cfg["streams"]))
    list(chat.stream_chat(msgs[0], max_new_tokens=4))  # first request: lazy allocations outside the timings
    tokens = cfg["b1_tokens"] if prefix != "eager" else cfg["eager_tokens"]
    runs = cfg["b1_runs"] if prefix != "eager" else 1
    st.attempt(
        f"{prefix}_b1",
        lambda: ttft_and_decode(st, chat, msgs[0], f"{prefix}_b1", runs, tokens, cfg["ttft_runs"]),
    )

    def bound_share() -> None:
        bw = measure_bandwidth(device, dtype)
        context = cfg["prompt_tokens"] + tokens // 2
        for probe, value in bw.items():
            b = weights_and_bound(model, context, value)["bound_tok_s"]
            st.say(f"bound by {probe}: {b:.0f} tok/s at {context} tokens")
            st.emit(f"{prefix}_bound_{probe}", bound_tok_s=b, bandwidth_gb_s=value / 1e9, context_tokens=context)

    if prefix == "static":
        st.attempt(f"{prefix}_bound", bound_share)

        def agree() -> None:
            ids = chat.encode(msgs[0])
            n = cfg["agree_tokens"]
            got = list(chat.static_decoder.submit(ids, n))
            x = torch.tensor([ids], device=device)
            with torch.inference_mode():
                ref = model.generate(
                    input_ids=x, attention_mask=torch.ones_like(x), max_new_tokens=n, min_new_tokens=n,
                    do_sample=False, eos_token_id=None, pad_token_id=0,
                )[0, len(ids) :].tolist()  # fmt: skip
            k = agreement(got, ref)
            st.say(f"greedy agreement with model.generate: {k} of {n} leading tokens identical")
            st.emit(f"{prefix}_agreement_generate", identical_leading=k, of=n)

        st.attempt(f"{prefix}_agreement_generate", agree)
    streams = cfg["streams"] if prefix == "static" else cfg[f"{prefix}_streams"]
    stream_tokens = cfg["stream_tokens"] if prefix == "static" else cfg["eager_tokens"]
    results: dict[int, dict[str, Any]] = {}
    for n in streams:

        def run(n: int = n) -> None:
            results[n] = concurrent(st, chat, msgs, n, stream_tokens, f"{prefix}_streams_{n}")

        st.attempt(f"{prefix}_streams_{n}", run)
    if prefix == "static" and 4 in results:

        def same_as_sequential() -> None:
            seq = [list(chat.static_decoder.submit(chat.encode(m), stream_tokens)) for m in msgs[:4]]
            k = [agreement(a, b) for a, b in zip(results[4]["outputs"], seq, strict=True)]
            st.say(f"4 concurrent vs 4 sequential streams: identical leading tokens {k} of {stream_tokens}")
            st.emit(f"{prefix}_agreement_concurrent", identical_leading=k, of=stream_tokens)

        st.attempt(f"{prefix}_agreement_concurrent", same_as_sequential)
    st.emit(f"{prefix}_steps", steps=chat.static_decoder.info.steps, notes=chat.static_decoder.info.notes)
    chat.static_decoder.close()


def stage_static(st: Stage) -> None:
    static_stage(st, cuda_graphs=True, compile_step=False, prefix="static")


def stage_eager(st: Stage) -> None:
    static_stage(st, cuda_graphs=False, compile_step=False, prefix="eager")


def stage_compiled(st: Stage) -> None:
    st.cfg = {**st.cfg, "streams": st.cfg["compiled_streams"]}
    static_stage(st, cuda_graphs=True, compile_step=True, prefix="compiled")


def stage_threads(st: Stage) -> None:
    import generation_threads

    cfg = st.cfg
    model, tok, device, _ = build(cfg)
    msgs = prompts(tok, cfg, 1)[0]
    res = generation_threads.run_variants(model, tok, msgs, device, cfg["threads_tokens"])
    for label, r in res.items():
        st.emit("threads_" + label.split()[0], label=label, **r)


def stage_reference(st: Stage) -> None:
    import generation_speed as g

    cfg = st.cfg
    model, tok, device, _ = build(cfg)
    msgs = prompts(tok, cfg, 1)[0]
    chat, _ = new_chat(model, tok, decoder="generate")
    n = cfg["ref_tokens"]
    list(chat.stream_chat([{"role": "user", "content": "안녕"}], max_new_tokens=2))  # warm-up

    def backend() -> None:
        r = g.measure(chat, msgs, n, 1)
        st.say(
            f"generate backend (stream_chat): TTFT {r['ttft_s'] * 1000:.1f} ms, decode {r['decode_tok_s']:.1f} tok/s"
        )
        st.emit("reference_backend_generate", **r)

    def plain() -> None:
        r = g.reference(model, tok, msgs, n, 1, device)
        st.say(
            f"plain model.generate (main thread): TTFT {r['ttft_s'] * 1000:.1f} ms, decode {r['decode_tok_s']:.1f} tok/s"
        )
        st.emit("reference_plain_generate", **r)

    st.attempt("reference_backend_generate", backend)
    st.attempt("reference_plain_generate", plain)


def stage_hf_cb(st: Stage) -> None:
    """transformers' continuous batching (its own scheduler, paged cache and CUDA graphs), for comparison."""
    from transformers import GenerationConfig

    cfg = st.cfg
    model, tok, _, _ = build(cfg)
    msgs = prompts(tok, cfg, cfg["cb_prompts"])
    inputs = [tok.apply_chat_template(m, add_generation_prompt=True, tokenize=True, return_dict=False) for m in msgs]
    gen = GenerationConfig(
        max_new_tokens=cfg["cb_tokens"], do_sample=False, eos_token_id=-1, pad_token_id=0,
        bos_token_id=model.config.bos_token_id,
    )  # fmt: skip
    for attempt in ("warm", "timed"):
        t0 = time.perf_counter()
        out = model.generate_batch(inputs=inputs, generation_config=gen, progress_bar=False, record_timestamps=True)
        wall = time.perf_counter() - t0
        total = sum(len(o.generated_tokens) for o in out.values())
        stamps = [o.timestamps for o in out.values() if o.timestamps]
        decode = None
        if stamps:
            first, last = min(s[0] for s in stamps), max(s[-1] for s in stamps)
            decode = sum(len(s) - 1 for s in stamps) / max(last - first, 1e-9)
        st.say(
            f"generate_batch ({attempt}): {len(inputs)} prompts, {total} tokens in {wall:.2f} s "
            f"({total / wall:.0f} tok/s incl. set-up" + (f"; decode {decode:.0f} tok/s)" if decode else ")")
        )
        st.emit(f"hf_cb_{attempt}", prompts=len(inputs), tokens=total, wall_s=wall, aggregate_tok_s=total / wall,
                decode_aggregate_tok_s=decode)  # fmt: skip


STAGE_FUNCS: dict[str, Callable[[Stage], None]] = {
    "env": stage_env,
    "static": stage_static,
    "eager": stage_eager,
    "threads": stage_threads,
    "reference": stage_reference,
    "compiled": stage_compiled,
    "hf_cb": stage_hf_cb,
}


def run_stage(name: str, cfg: dict[str, Any]) -> None:
    if cfg.get("dry_run"):
        block_imports(NOT_ON_DEVICE)
    st = Stage(name, cfg)
    t0 = time.perf_counter()
    try:
        STAGE_FUNCS[name](st)
    except Exception as e:
        st.say(f"FAILED: {type(e).__name__}: {e}")
        st.emit("stage_error", error=f"{type(e).__name__}: {str(e)[:500]}", trace=traceback.format_exc()[-2000:])
    st.emit("stage_time", seconds=time.perf_counter() - t0)
    sys.stdout.flush()
    os._exit(0)  # do not wait for daemon threads (decoders) or CUDA teardown


# -- the orchestrator ---------------------------------------------------------------------------------------


def run_all(args: argparse.Namespace) -> dict[str, Any]:
    cfg = {**(DRY if args.dry_run else FULL), "dry_run": args.dry_run, "cpu": args.dry_run}
    names = [s.strip() for s in args.stages.split(",")] if args.stages else [s[0] for s in STAGES]
    unknown = set(names) - set(STAGE_FUNCS)
    if unknown:
        raise SystemExit(f"unknown stage(s) {sorted(unknown)}; known: {', '.join(STAGE_FUNCS)}")
    limits = {name: (most, least) for name, most, least in STAGES}
    start = time.perf_counter()
    report: dict[str, Any] = {"config": cfg, "budget_s": args.budget, "stages": {}}
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "TOKENIZERS_PARALLELISM": "false", "HF_HUB_OFFLINE": "1"}
    for name in names:
        left = args.budget - (time.perf_counter() - start)
        most, least = limits[name]
        if args.dry_run:
            most, least = most * 4, 1  # CPU is slow, and the dry run is about the code paths, not the budget
        if left < least and not args.dry_run:
            print(f"== {name}: skipped, {left:.0f} s of the budget left (needs {least})", flush=True)
            report["stages"][name] = {"status": "skipped", "budget_left_s": left}
            continue
        limit = min(most, left) if not args.dry_run else most
        print(f"== {name} (limit {limit:.0f} s, {left:.0f} s of the budget left)", flush=True)
        cmd = [sys.executable, str(Path(__file__).resolve()), "--stage", name, "--config", json.dumps(cfg)]
        results: list[dict[str, Any]] = []
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=ROOT, start_new_session=True
        )  # its own process group: compile workers it starts die with it

        def kill(pid: int = proc.pid) -> None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)

        timer = threading.Timer(limit, kill)
        timer.start()
        tail: list[str] = []
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith(MARK):
                results.append(json.loads(line[len(MARK) :]))
            else:
                print("   " + line.rstrip(), flush=True)
                tail = [*tail, line.rstrip()][-30:]
        proc.wait()
        timer.cancel()
        took = time.perf_counter() - t0
        timed_out = took >= limit - 0.5 and proc.returncode != 0
        status = "timeout" if timed_out else ("ok" if proc.returncode == 0 else f"exit {proc.returncode}")
        if any("error" in r for r in results) and status == "ok":
            status = "ok, with failures"
        report["stages"][name] = {"status": status, "seconds": took, "results": results}
        if status not in ("ok",):
            report["stages"][name]["output_tail"] = tail
        print(f"== {name}: {status} in {took:.0f} s", flush=True)
    report["total_s"] = time.perf_counter() - start
    return report


def summary(report: dict[str, Any]) -> list[str]:
    """The figures the issue asks for, one line each."""
    r: dict[str, dict[str, Any]] = {}
    for stage in report["stages"].values():
        for x in stage.get("results", []):
            r[x["key"]] = x
    lines = []

    def get(key: str, field: str) -> Any:
        return r.get(key, {}).get(field)

    def fmt(v: Any, spec: str) -> str:
        return "n/a" if v is None else format(v, spec)

    versions = r.get("versions", {})
    lines.append(
        f"device {versions.get('device')}; torch {versions.get('torch')}, transformers {versions.get('transformers')}"
    )
    bw = r.get("bandwidth", {})
    bound = r.get("bound", {})
    lines.append(
        f"bandwidth: copy {fmt(bw.get('copy_bytes_s'), '.0f')} GB/s, GEMV read {fmt(bw.get('gemv_bytes_s'), '.0f')} GB/s; "
        f"bound at {bound.get('context_tokens')} tokens: "
        + ", ".join(f"{k}: {fmt(v, '.0f')} tok/s" for k, v in (bound.get("by_probe") or {}).items())
    )
    b1 = r.get("static_b1", {})
    bound_copy = get("static_bound_copy_bytes_s", "bound_tok_s")
    share = None if not (b1.get("decode_tok_s") and bound_copy) else b1["decode_tok_s"] / bound_copy
    lines.append(
        f"static decoder + CUDA graphs, batch 1: decode {fmt(b1.get('decode_tok_s'), '.1f')} tok/s "
        f"({fmt(share, '.0%')} of the copy-bandwidth bound; target >= 50%), TTFT {fmt(b1.get('ttft_s'), '.4f')} s "
        f"for {b1.get('prompt_tokens')} prompt tokens (target <= 0.050 s); set-up {fmt(get('static_setup', 'setup_s'), '.1f')} s "
        f"({get('static_setup', 'graphs_captured')} graphs captured in {fmt(get('static_setup', 'capture_s'), '.1f')} s)"
    )
    for n in (1, 2, 4, 16):
        s = r.get(f"static_streams_{n}")
        if s and "error" not in s:
            lines.append(
                f"  {n:>2} concurrent streams: aggregate {s['aggregate_tok_s']:.0f} tok/s wall, decode "
                f"{s['decode_aggregate_tok_s']:.0f} tok/s, TTFT median {s['ttft_median_s'] * 1000:.0f} ms"
            )
    ag = r.get("static_agreement_generate", {})
    ac = r.get("static_agreement_concurrent", {})
    lines.append(
        f"  greedy agreement: with generate {ag.get('identical_leading')}/{ag.get('of')}; "
        f"concurrent vs sequential {ac.get('identical_leading')}/{ac.get('of')}"
    )
    e1 = r.get("eager_b1", {})
    lines.append(
        f"static decoder without graphs, batch 1: decode {fmt(e1.get('decode_tok_s'), '.1f')} tok/s, TTFT "
        f"{fmt(e1.get('ttft_s'), '.4f')} s; 16 streams decode "
        f"{fmt(get('eager_streams_16', 'decode_aggregate_tok_s'), '.0f')} tok/s"
    )
    c1 = r.get("compiled_b1", {})
    lines.append(
        f"compiled + graphs, batch 1: decode {fmt(c1.get('decode_tok_s'), '.1f')} tok/s, set-up (compile + capture) "
        f"{fmt(get('compiled_setup', 'setup_s'), '.1f')} s; 16 streams decode "
        f"{fmt(get('compiled_streams_16', 'decode_aggregate_tok_s'), '.0f')} tok/s"
    )
    threads = [x for k, x in r.items() if k.startswith("threads_")]
    for t in threads:
        if "label" in t:
            lines.append(f"  threads {t['label']:<48} decode {t['decode_tok_s']:.1f} tok/s")
    lines.append(
        f"generate backend (stream_chat): decode {fmt(get('reference_backend_generate', 'decode_tok_s'), '.1f')} tok/s, "
        f"TTFT {fmt(get('reference_backend_generate', 'ttft_s'), '.3f')} s; plain model.generate: decode "
        f"{fmt(get('reference_plain_generate', 'decode_tok_s'), '.1f')} tok/s"
    )
    lines.append(
        f"transformers generate_batch, {get('hf_cb_timed', 'prompts')} prompts: "
        f"{fmt(get('hf_cb_timed', 'aggregate_tok_s'), '.0f')} tok/s wall, decode "
        f"{fmt(get('hf_cb_timed', 'decode_aggregate_tok_s'), '.0f')} tok/s"
    )
    for name, s in report["stages"].items():
        lines.append(f"stage {name}: {s['status']}" + (f" in {s['seconds']:.0f} s" if "seconds" in s else ""))
    errors = [f"{x['key']}: {x['error']}" for x in r.values() if "error" in x]
    lines += [f"error {e}" for e in errors]
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--budget", type=float, default=480, help="total wall-clock seconds for all stages")
    ap.add_argument("--stages", default=None, help="comma-separated subset, in the order given")
    ap.add_argument("--dry-run", action="store_true", help="tiny shapes on CPU: check every code path here")
    ap.add_argument("--out", default=None, help="folder for gpu_session.json (default: $OUT, else none)")
    ap.add_argument("--stage", help=argparse.SUPPRESS)
    ap.add_argument("--config", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.stage:
        run_stage(args.stage, json.loads(args.config))
        return
    report = run_all(args)
    lines = summary(report)
    print("\n== summary" + (" (DRY RUN: tiny model on CPU, not figures)" if args.dry_run else ""))
    for line in lines:
        print(line)
    out = args.out or os.environ.get("OUT")
    if out:
        path = Path(out) / ("gpu_session_dry_run.json" if args.dry_run else "gpu_session.json")
        path.parent.mkdir(parents=True, exist_ok=True)
        report["summary"] = lines
        path.write_text(json.dumps(report, indent=1, default=str), encoding="utf-8")
        print(f"written: {path}")


if __name__ == "__main__":
    main()
