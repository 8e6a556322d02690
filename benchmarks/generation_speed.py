"""Time to first token and decode speed of the ``transformers`` backend at the real Llama-3.2-3B shape.

The model is randomly initialised with the exact shape of CarrotAI/Llama-3.2-Rabbit-Ko-3B-Instruct-2412
(Llama 3.2 3B: 28 layers, hidden 3072, 24 heads, 8 KV heads, intermediate 8192, vocab 128256, tied
embeddings) — compute and memory traffic do not depend on the weights' values. The prompt is a
RAG prompt (system prompt + numbered constitution passages + question) built by
``rabbit_rag.prompts`` and fitted to ``--prompt-tokens`` (default 1,500) with a Llama 3-style chat
template; generation runs through ``TransformersChatModel.stream_chat`` (thread + streamer +
stopping criterion), exactly as ``rabbit-rag ask`` does.

Next to the measured decode speed it prints the memory-bandwidth bound: every decoded token reads
all weights (and the KV cache) once, so tokens/s ≤ bandwidth / bytes per token. The bandwidth is
measured on the device itself (a large read for CPU, a device-to-device copy for CUDA).

Usage::

    python benchmarks/generation_speed.py                          # CPU: float32 and bfloat16, all 28 layers
    python benchmarks/generation_speed.py --layers 4 --dtype bfloat16   # a shorter CPU run (says so)
    python benchmarks/generation_speed.py --device cuda --dtype bfloat16 # GPU

``--layers N`` keeps the real layer shape but only N of the 28 layers; the figures then describe that
shortened model (the output says so) — per-layer time scales about linearly.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import re
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

LLAMA_32_3B = {
    "vocab_size": 128256,
    "hidden_size": 3072,
    "intermediate_size": 8192,
    "num_hidden_layers": 28,
    "num_attention_heads": 24,
    "num_key_value_heads": 8,
    "head_dim": 128,
    "max_position_embeddings": 131072,
    "rms_norm_eps": 1e-5,
    "rope_theta": 500000.0,
    "tie_word_embeddings": True,
    "bos_token_id": 128000,
    "eos_token_id": [128001, 128008, 128009],
}
SPECIAL = {
    "<|begin_of_text|>": 128000,
    "<|end_of_text|>": 128001,
    "<|start_header_id|>": 128006,
    "<|end_header_id|>": 128007,
    "<|eom_id|>": 128008,
    "<|eot_id|>": 128009,
}
CHAT_TEMPLATE = (
    "{{- bos_token }}{%- for message in messages %}"
    "{{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n' + message['content'] | trim + '<|eot_id|>' }}"
    "{%- endfor %}{%- if add_generation_prompt %}{{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{%- endif %}"
)
NOMINAL_BANDWIDTH = {"H100": 3.35e12, "H200": 4.8e12, "A100": 2.0e12}


def build_tokenizer() -> Any:
    """A 128,256-entry character-level tokenizer with the Llama 3 special tokens at their real ids and a
    Llama 3 chat template. One Hangul syllable = one token (Llama 3's own tokenizer spends ~0.6–1)."""
    from tokenizers import AddedToken, Regex, Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    chars = (
        ["<unk>"] + [chr(c) for c in range(0xAC00, 0xD7A4)] + [chr(c) for c in range(32, 127)] + list("\n\t·…“”‘’①②③④⑤")
    )
    vocab = {c: i for i, c in enumerate(dict.fromkeys(chars))}
    for i in range(len(vocab), 128000):
        vocab[f"t{i}"] = i
    for i in range(128000, 128256):
        vocab.setdefault(f"<|reserved_special_token_{i - 128000}|>", i)
    for tok, i in SPECIAL.items():
        del vocab[next(k for k, v in vocab.items() if v == i)]
        vocab[tok] = i
    tok = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Split(Regex("."), behavior="isolated")
    tok.add_special_tokens([AddedToken(t, special=True) for t in SPECIAL])
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<|begin_of_text|>", eos_token="<|eot_id|>")
    fast.chat_template = CHAT_TEMPLATE
    return fast


def build_model(layers: int, dtype: Any, device: str, **shape: Any) -> Any:
    """Random weights at the Llama-3.2-3B shape (``shape`` overrides config fields, e.g. for a tiny dry
    run), allocated directly (no slow per-layer init)."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    config = LlamaConfig(**{**LLAMA_32_3B, "num_hidden_layers": layers, **shape})
    with torch.device("meta"):
        model = LlamaForCausalLM(config)
    model = model.to(dtype=dtype).to_empty(device=device)
    gen = torch.Generator(device=device).manual_seed(0)
    with torch.no_grad():
        for p in model.parameters():
            if p.dim() == 1:  # RMSNorm weights
                p.fill_(1.0)
            else:
                p.uniform_(-0.02, 0.02, generator=gen)
        rotary = type(model.model.rotary_emb)(config=config)  # buffers were left empty by to_empty
        model.model.rotary_emb = rotary.to(device)
    model.tie_weights()  # to_empty gave lm_head its own copy; Llama 3.2 shares it with the embedding
    model.generation_config.eos_token_id = LLAMA_32_3B["eos_token_id"]
    return model.eval()


def rag_messages(tokenizer: Any, prompt_tokens: int, answer_tokens: int) -> tuple[list[dict[str, str]], int]:
    """A real RAG prompt over the sample constitution, fitted to ``prompt_tokens`` by ``fit_prompt``."""
    from rabbit_rag.prompts import fit_prompt
    from rabbit_rag.types import Chunk, ScoredChunk

    text = (ROOT / "samples" / "constitution.txt").read_text(encoding="utf-8")
    try:
        from rabbit_rag.text.sentences import split_sentences

        spans = split_sentences(text)
    except ImportError:  # a GPU box with only torch + transformers: lines are sentences enough for timing
        spans = [(m.start(), m.end()) for m in re.finditer(r"[^\n]+", text)]
    hits, i = [], 0
    while i < len(spans) and len(hits) < 40:
        a, b = spans[i][0], spans[min(i + 4, len(spans) - 1)][1]
        hits.append(ScoredChunk(Chunk(len(hits), "const", "samples/constitution.txt", a, b, text[a:b]), 1.0))
        i += 5

    def count(msgs: Any) -> int:
        return len(tokenizer.apply_chat_template(msgs, add_generation_prompt=True, tokenize=True, return_dict=False))

    prompt = fit_prompt(
        "대통령의 임기는 몇 년이며 연임할 수 있나요?", hits, count, prompt_tokens + answer_tokens, answer_tokens
    )
    return prompt.messages, prompt.prompt_tokens


def bandwidth(device: str, dtype: Any) -> float:
    """Measured memory bandwidth in bytes/s. CUDA: a 1 GiB device-to-device copy. CPU: 2 GiB in eight
    256 MiB blocks of ``dtype``, read by ``sum`` and by a one-row ``linear`` (what decoding does); the
    best pass of either. A VM's bandwidth varies from run to run; this is the figure of this run."""
    import torch
    import torch.nn.functional as F

    def best_of(fn: Any, n_bytes: int, sync: Any = lambda: None, passes: int = 5) -> float:
        best = float("inf")
        for _ in range(passes):
            sync()
            t0 = time.perf_counter()
            fn()
            sync()
            best = min(best, time.perf_counter() - t0)
        return n_bytes / best

    if device.startswith("cuda"):
        src = torch.empty(1 << 28, dtype=torch.float32, device=device)
        dst = torch.empty_like(src)
        return best_of(lambda: dst.copy_(src), 2 * src.numel() * 4, torch.cuda.synchronize)
    cols = 4096
    rows = (256 << 20) // dtype.itemsize // cols
    blocks = [torch.ones(rows, cols, dtype=dtype) for _ in range(8)]
    x = torch.ones(1, cols, dtype=dtype)
    n_bytes = sum(b.numel() * dtype.itemsize for b in blocks)
    by_sum = best_of(lambda: [b.sum() for b in blocks], n_bytes)
    by_linear = best_of(lambda: [F.linear(x, b) for b in blocks], n_bytes)
    return max(by_sum, by_linear)


def measure(chat: Any, messages: Any, new_tokens: int, runs: int) -> dict[str, Any]:
    ttft, wall_first, rates, n_new = [], [], [], []
    for _ in range(runs):
        t0 = time.perf_counter()
        first = None
        for _piece in chat.stream_chat(messages, max_new_tokens=new_tokens):
            first = first or time.perf_counter() - t0
        s = chat.last_stats
        ttft.append(s.first_token_s)
        wall_first.append(first)
        rates.append(s.decode_tokens_per_s)
        n_new.append(s.new_tokens)
    return {
        "ttft_s": statistics.median(ttft),
        "first_text_s": statistics.median(w for w in wall_first if w is not None) if any(wall_first) else None,
        "decode_tok_s": statistics.median(r for r in rates if r is not None),
        "new_tokens": min(n_new),
    }


def timed_call(fn: Callable[[], Any], device: str) -> float:
    """Wall seconds of ``fn()`` under ``torch.inference_mode``, the device synchronised before and after."""
    import torch

    def sync() -> None:
        if device.startswith("cuda"):
            torch.cuda.synchronize()

    sync()
    t0 = time.perf_counter()
    with torch.inference_mode():
        fn()
    sync()
    return time.perf_counter() - t0


def reference(model: Any, tok: Any, messages: Any, new_tokens: int, runs: int, device: str) -> dict[str, float]:
    """Plain ``model.generate`` in this thread: no streamer, no stopping criterion, exactly ``new_tokens``."""
    import torch

    ids = tok.apply_chat_template(messages, add_generation_prompt=True, tokenize=True, return_dict=False)
    x = torch.tensor([ids], device=device)

    def timed(n: int) -> float:
        return timed_call(
            lambda: model.generate(
                input_ids=x, attention_mask=torch.ones_like(x), max_new_tokens=n, min_new_tokens=n,
                do_sample=False, eos_token_id=None, pad_token_id=0,
            ),
            device,
        )  # fmt: skip

    timed(new_tokens)  # warm-up (and compilation, for a static cache)
    first = statistics.median(timed(1) for _ in range(runs))
    full = statistics.median(timed(new_tokens) for _ in range(runs))
    return {"ttft_s": first, "decode_tok_s": (new_tokens - 1) / max(full - first, 1e-9)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default=None, help="cpu or cuda (default: cuda when present)")
    ap.add_argument(
        "--dtype", default=None, help="float32, bfloat16, float16 or 'both' (CPU default: both; CUDA: bfloat16)"
    )
    ap.add_argument("--layers", type=int, default=28, help="decoder layers to keep (28 = the real model)")
    ap.add_argument("--prompt-tokens", type=int, default=1500)
    ap.add_argument("--new-tokens", type=int, default=32)
    ap.add_argument("--runs", type=int, default=1, help="measured runs per setting (median reported)")
    ap.add_argument(
        "--cache",
        default="dynamic",
        help="KV cache kinds to time, comma-separated: dynamic (the backend's default) and/or static "
        "(transformers then compiles the decoding step on CUDA; the warm-up pays for compilation)",
    )
    ap.add_argument(
        "--reference",
        action="store_true",
        help="also time plain model.generate (main thread, no streamer, no stopping criterion) beside the "
        "backend, so the backend's own overhead shows",
    )
    ap.add_argument(
        "--decoder",
        default="auto",
        choices=["auto", "static", "generate"],
        help="the backend's decoder: auto (what `rabbit-rag ask` does: static on CUDA, generate elsewhere), "
        "static (the static decoder) or generate (transformers' generate; --cache applies to it only)",
    )
    ap.add_argument("--json", action="store_true", help="also print one JSON line per setting")
    args = ap.parse_args()

    import torch

    from rabbit_rag.generators.transformers_chat import TransformersChatModel

    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    dtypes = args.dtype or ("both" if device == "cpu" else "bfloat16")
    dtypes = ["float32", "bfloat16"] if dtypes == "both" else [dtypes]
    caches = [c.strip() for c in args.cache.split(",") if c.strip()]
    if not set(caches) <= {"dynamic", "static"}:
        ap.error("--cache takes dynamic and/or static")
    settings = [(d, c) for d in dtypes for c in caches]
    tok = build_tokenizer()
    messages, n_prompt = rag_messages(tok, args.prompt_tokens, args.new_tokens)
    where = torch.cuda.get_device_name(0) if device.startswith("cuda") else f"CPU, {torch.get_num_threads()} threads"
    print(f"device: {where}; torch {torch.__version__}")
    shortened = args.layers != LLAMA_32_3B["num_hidden_layers"]
    print(
        f"model: random Llama-3.2-3B shape, {args.layers} of 28 layers"
        + (" (SHORTENED: figures are for this smaller model, not the 3B one)" if shortened else "")
        + f"; prompt {n_prompt} tokens (RAG: system + sources + question); {args.new_tokens} new tokens; "
        f"{args.runs} run(s), medians"
    )
    header = (
        f"{'dtype':<9} {'cache':<7} {'weights GB':>10} {'TTFT s':>8} {'prefill tok/s':>13} {'decode tok/s':>12} "
        f"{'bandwidth GB/s':>14} {'bound tok/s':>11} {'of bound':>8}"
    )
    print(header)
    for name, cache in settings:
        dtype = getattr(torch, name)
        bw = bandwidth(device, dtype)
        t0 = time.perf_counter()
        model = build_model(args.layers, dtype, device)
        build_s = time.perf_counter() - t0
        t_dec = time.perf_counter()
        chat = TransformersChatModel.from_objects(
            model, tok, name=f"random-llama-3.2-3b-{args.layers}L", decoder=args.decoder
        )
        decoder_s = time.perf_counter() - t_dec  # the static decoder's set-up (graph capture) happens here
        chat.stop_token_ids = []  # random weights must not stop early on an end token: time every token
        if cache == "static" and chat.decoder == "generate":
            model.generation_config.cache_implementation = "static"
            if device.startswith("cuda"):  # CUDA-graph trees keep state per thread; the backend generates in one
                import torch._inductor.config as inductor_config

                inductor_config.triton.cudagraph_trees = False
        weight_bytes = sum(p.numel() * p.element_size() for p in model.parameters())
        cfg = model.config
        kv_bytes = (
            2 * args.layers * cfg.num_key_value_heads * cfg.head_dim * (n_prompt + args.new_tokens) * dtype.itemsize
        )
        bound = bw / (weight_bytes + kv_bytes)
        try:  # a failing setting (e.g. a static-cache compile error) is reported; the next one still runs
            t_warm = time.perf_counter()
            list(chat.stream_chat([{"role": "user", "content": "안녕"}], max_new_tokens=2))  # warm-up
            if cache == "static":  # compile for the prompt's shape too, outside the timed runs
                list(chat.stream_chat(messages, max_new_tokens=args.new_tokens))
            warm_s = time.perf_counter() - t_warm
            r: dict[str, Any] | None = measure(chat, messages, args.new_tokens, args.runs)
            if args.reference:
                r["reference"] = reference(model, tok, messages, args.new_tokens, args.runs, device)
        except Exception as e:
            print(f"{name:<9} {cache:<7} failed: {type(e).__name__}: {str(e)[:300]}")
            r = None
        if r is not None:
            print(
                f"{name:<9} {cache:<7} {weight_bytes / 1e9:>10.2f} {r['ttft_s']:>8.2f} {n_prompt / r['ttft_s']:>13.1f} "
                f"{r['decode_tok_s']:>12.2f} {bw / 1e9:>14.1f} {bound:>11.2f} {r['decode_tok_s'] / bound:>8.0%}"
            )
            if chat.decoder == "static":
                print(f"  static decoder: set-up {decoder_s:.1f} s ({chat.static_decoder.info})")
            if args.reference:
                ref = r["reference"]
                print(
                    f"{'  plain model.generate (main thread):':<39} TTFT {ref['ttft_s']:.3f} s, "
                    f"decode {ref['decode_tok_s']:.2f} tok/s"
                )
            if r["decode_tok_s"] > bound:
                print(
                    f"  note: decoding read {r['decode_tok_s'] * weight_bytes / 1e9:.1f} GB/s, above the probe: it underestimated"
                )
            if args.json:
                print(json.dumps({"dtype": name, "cache": cache, "decoder": chat.decoder, "warmup_s": round(warm_s, 1), "device": where, "layers": args.layers, "prompt_tokens": n_prompt,
                                  "weights_gb": round(weight_bytes / 1e9, 3), "build_s": round(build_s, 1),
                                  "bandwidth_gb_s": round(bw / 1e9, 1), "bound_tok_s": round(bound, 2), **r}))  # fmt: skip
        if chat.static_decoder is not None:
            chat.static_decoder.close()  # its thread holds the model and the KV cache
        del chat, model
        gc.collect()
        if device.startswith("cuda"):
            torch.cuda.empty_cache()
    if device.startswith("cuda"):
        name = torch.cuda.get_device_name(0)
        for gpu, bw_nominal in NOMINAL_BANDWIDTH.items():
            if gpu in name:
                full = 3.21e9 * 2
                print(
                    f"nominal: {full / 1e9:.1f} GB of bf16 weights / {bw_nominal / 1e12:.2f} TB/s ≈ {bw_nominal / full:.0f} tok/s on an {gpu}"
                )
    print(
        "TTFT = prompt processing + the first token, measured at the first new token; decode tok/s excludes it. "
        "bound = bandwidth / (weights + KV cache) bytes per token."
    )
    if os.environ.get("OMP_NUM_THREADS"):
        print(f"OMP_NUM_THREADS={os.environ['OMP_NUM_THREADS']}")


if __name__ == "__main__":
    main()
