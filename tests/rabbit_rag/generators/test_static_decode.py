"""The static decoder (slot KV cache, continuous batching) on tiny models, on CPU: the same loop that
replays CUDA graphs on a GPU runs here eagerly, and its greedy output is compared with ``model.generate``
token for token."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from rabbit_rag.errors import GeneratorError, InvalidInputError
from tests.conftest import LLAMA_SCRIPT, OnFirstUse

# The decoding modules import torch (~3 s of CPU): loaded at the first test that uses them, not when the
# module is collected, which every xdist worker does — most of the fast loop's workers never need torch.
sd = OnFirstUse("rabbit_rag.generators.static_decode")
tc = OnFirstUse("rabbit_rag.generators.transformers_chat")

MESSAGES = [{"role": "user", "content": "국회의원 임기는?"}]
TEXTS = [
    "대한민국은 민주공화국이다.",
    "국회의원의 임기는 4년으로 한다. 대통령의 임기는",
    "육아",
    "The quick brown fox jumps over the lazy dog 0123456789. 대한민국의 주권은 국민에게 있고, 모든 권력은",
    "헌법재판소 재판관의 임기는 6년으로 하며, 법률이 정하는 바에 의하여 연임할 수 있다. 헌법재판소",
]


@pytest.fixture(scope="module")
def random_llama(tiny_llama_random: Path):
    """The tiny random Llama in float64 (so batching and masking cannot flip a greedy choice by rounding)
    and its tokenizer. Its query and key weights are scaled up so that attention is sharp: with the
    initial 0.02 it is nearly uniform, and a wrong key would change nothing."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(tiny_llama_random, dtype=torch.float64).eval()
    with torch.no_grad():
        for layer in model.model.layers:
            layer.self_attn.q_proj.weight.mul_(8)
            layer.self_attn.k_proj.weight.mul_(8)
    return model, AutoTokenizer.from_pretrained(tiny_llama_random)


@pytest.fixture(scope="module")
def decoder(random_llama):
    dec = sd.StaticDecoder(random_llama[0], slots=3, max_tokens=300)
    yield dec
    dec.close()


def generate_reference(model, ids: list[int], n: int) -> list[int]:
    import torch

    x = torch.tensor([ids])
    out = model.generate(
        x, attention_mask=torch.ones_like(x), max_new_tokens=n, min_new_tokens=n, do_sample=False,
        eos_token_id=None, pad_token_id=0,
    )  # fmt: skip
    return out[0, len(ids) :].tolist()


@pytest.fixture(scope="module")
def references(random_llama) -> list[tuple[list[int], list[int]]]:
    model, tok = random_llama
    return [(tok.encode(t), generate_reference(model, tok.encode(t), 40)) for t in TEXTS]


def test_buckets() -> None:
    assert sd.buckets(16) == [1, 2, 3, 4, 6, 8, 12, 16]
    assert sd.buckets(1) == [1]
    assert sd.buckets(5) == [1, 2, 3, 4, 5]
    assert sd.buckets(8192, 256) == [256, 384, 512, 768, 1024, 1536, 2048, 3072, 4096, 6144, 8192]
    assert sd.buckets(300, 256) == [256, 300]


def test_greedy_output_equals_generate(decoder: sd.StaticDecoder, references) -> None:
    for ids, expected in references:
        assert list(decoder.submit(ids, 40)) == expected


def test_concurrent_requests_are_batched_and_equal_sequential(decoder: sd.StaticDecoder, references) -> None:
    steps0 = decoder.info.steps
    requests = [decoder.submit(ids, 40) for ids, _ in references[:3]]  # 3 slots: all decode together
    got = [list(r) for r in requests]
    assert got == [expected for _, expected in references[:3]]
    steps = decoder.info.steps - steps0
    assert steps < 2 * 40  # one step advances every row: ~39 steps, not 3 x 39


def test_more_requests_than_slots_wait_and_join_as_rows_free(decoder: sd.StaticDecoder, references) -> None:
    # 5 requests, 3 slots, different lengths: rows finish at different steps, later requests take the
    # freed rows (the last active row is moved into the hole) while the others go on decoding.
    budgets = [5, 40, 12, 33, 21]
    requests = [decoder.submit(ids, n) for (ids, _), n in zip(references, budgets, strict=True)]
    got = [list(r) for r in requests]
    assert got == [expected[:n] for (_, expected), n in zip(references, budgets, strict=True)]


def test_a_request_joining_mid_answer(decoder: sd.StaticDecoder, references) -> None:
    (ids_a, exp_a), (ids_b, exp_b) = references[3], references[1]
    a = decoder.submit(ids_a, 40)
    it = iter(a)
    head = [next(it) for _ in range(10)]
    b = decoder.submit(ids_b, 40)  # joins while a is at a different position
    assert head + list(it) == exp_a
    assert list(b) == exp_b


def test_decoding_runs_on_one_worker_thread(random_llama, references) -> None:
    model, _ = random_llama
    seen: set[threading.Thread] = set()
    handle = model.register_forward_pre_hook(lambda *_: seen.add(threading.current_thread()))
    try:
        dec = sd.StaticDecoder(model, slots=2, max_tokens=300)
        for ids, expected in references[:2]:
            assert list(dec.submit(ids, 10)) == expected[:10]
        dec.close()
    finally:
        handle.remove()
    assert seen == {dec._thread}  # set-up, self-check, prefill and steps: all on the decoder's thread
    assert dec._thread is not threading.current_thread()


def test_cancel_drops_only_that_request(decoder: sd.StaticDecoder, references) -> None:
    (ids_a, exp_a), (ids_b, _) = references[0], references[2]
    a = decoder.submit(ids_a, 40)
    b = decoder.submit(ids_b, 250)
    it = iter(b)
    next(it)
    b.cancel()
    assert b.wait(5) and b.cancelled
    assert b.new_tokens < 250
    assert list(a) == exp_a


def test_sampling_with_top_k_1_or_tiny_top_p_is_greedy(decoder: sd.StaticDecoder, references) -> None:
    ids, expected = references[3]
    assert list(decoder.submit(ids, 40, temperature=0.7, top_k=1)) == expected
    assert list(decoder.submit(ids, 40, temperature=1.5, top_p=1e-9)) == expected
    greedy = decoder.submit(references[0][0], 40)  # a greedy row beside a sampling one
    sampled = decoder.submit(ids, 40, temperature=1.0)
    assert list(greedy) == references[0][1]
    tokens = list(sampled)
    assert len(tokens) == 40 and all(0 <= t < 1200 for t in tokens)


def test_stop_ids_end_the_request(decoder: sd.StaticDecoder, references) -> None:
    ids, expected = references[3]
    stop = expected[7]
    first = expected.index(stop)
    req = decoder.submit(ids, 40, stop_ids=[stop])
    assert list(req) == expected[:first]
    assert req.new_tokens == first + 1  # the stop token is counted, not yielded


def test_prompt_must_fit_a_slot(decoder: sd.StaticDecoder) -> None:
    with pytest.raises(ValueError, match="300"):
        decoder.submit(list(range(1, 301)), 5)
    req = decoder.submit(list(range(1, 296)), 50)  # the budget is cut to the room left
    assert len(list(req)) == 5


def test_a_failing_prefill_fails_its_request_only(random_llama, references) -> None:
    model, _ = random_llama

    def refuse_length_7(module, args, kwargs):
        ids = kwargs.get("input_ids")
        if ids is not None and ids.shape[1] == 7:
            raise RuntimeError("simulated out of memory")

    dec = sd.StaticDecoder(model, slots=2, max_tokens=300)
    handle = model.register_forward_pre_hook(refuse_length_7, with_kwargs=True)
    try:
        bad = dec.submit([5, 6, 7, 8, 9, 10, 11], 5)
        good = dec.submit(references[0][0], 10)
        assert list(bad) == [] and isinstance(bad.error, RuntimeError)
        assert list(good) == references[0][1][:10]
    finally:
        handle.remove()
        dec.close()


def test_self_check_refuses_a_cache_that_breaks_the_contract(random_llama, monkeypatch) -> None:
    real = sd._SlotCache.update

    def shifted(self, k, v, layer_idx, *args, **kwargs):
        keys, values = real(self, k, v, layer_idx)
        return keys.roll(1, dims=2), values  # keys one position off

    monkeypatch.setattr(sd._SlotCache, "update", shifted)
    with pytest.raises(sd.UnsupportedModelError, match="self-check"):
        sd.StaticDecoder(random_llama[0], slots=1, max_tokens=300)


def test_closed_decoder_refuses_and_ends_waiting_requests(random_llama) -> None:
    dec = sd.StaticDecoder(random_llama[0], slots=1, max_tokens=300)
    dec.close()
    with pytest.raises(RuntimeError, match="closed"):
        dec.submit([1, 2, 3], 5)


# -- the chat model on the static decoder ----------------------------------------------------------------


def test_chat_model_streams_and_stops_at_eot(tiny_llama: Path) -> None:
    model = tc.load_chat_model(str(tiny_llama), max_new_tokens=200, decoder="static", max_batch=2)
    assert model.decoder == "static"
    pieces = list(model.stream_chat(MESSAGES))
    assert len(pieces) > 3 and "".join(pieces) == LLAMA_SCRIPT
    stats = model.last_stats
    n_script = len(model.tokenizer.encode(LLAMA_SCRIPT, add_special_tokens=False))
    assert stats is not None and stats.new_tokens == n_script + 1 and not stats.cancelled
    assert stats.first_token_s is not None and stats.first_token_s <= stats.total_s


def test_chat_model_concurrent_streams(tiny_llama: Path) -> None:
    model = tc.load_chat_model(str(tiny_llama), max_new_tokens=200, decoder="static", max_batch=2)
    results: list[str] = []
    threads = [threading.Thread(target=lambda: results.append("".join(model.stream_chat(MESSAGES)))) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert results == [LLAMA_SCRIPT] * 5


def test_chat_model_closing_the_stream_stops_generation(tiny_llama_endless: Path) -> None:
    model = tc.load_chat_model(str(tiny_llama_endless), max_new_tokens=500_000, decoder="static", max_batch=2)
    assert model.max_context == 8192  # the static decoder's slot, not the model's million positions
    stream = model.stream_chat(MESSAGES)
    assert [next(stream) for _ in range(3)]
    t0 = time.perf_counter()
    stream.close()
    assert time.perf_counter() - t0 < 2.0
    stats = model.last_stats
    assert stats is not None and stats.cancelled and stats.new_tokens < 1000
    again = model.stream_chat(MESSAGES)
    assert next(again)
    again.close()


def test_chat_model_generation_failure_is_a_clear_error(tiny_llama: Path) -> None:
    model = tc.load_chat_model(str(tiny_llama), decoder="static", max_batch=2)

    def broken(*args):
        raise RuntimeError("CUDA error (simulated)")

    handle = model.model.register_forward_pre_hook(broken)
    try:
        with pytest.raises(GeneratorError, match="simulated"):
            list(model.stream_chat(MESSAGES))
    finally:
        handle.remove()
    assert "".join(model.stream_chat(MESSAGES)) == LLAMA_SCRIPT


def test_static_refuses_what_it_cannot_apply(tiny_llama: Path) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    hf = AutoModelForCausalLM.from_pretrained(tiny_llama)
    hf.generation_config.repetition_penalty = 1.3
    tok = AutoTokenizer.from_pretrained(tiny_llama)
    with pytest.raises(InvalidInputError, match="repetition_penalty"):
        tc.TransformersChatModel.from_objects(hf, tok, decoder="static")
    plain = tc.TransformersChatModel.from_objects(hf, tok)  # auto on CPU: generate, nothing to refuse
    assert plain.decoder == "generate" and plain.decoder_fallback is None


def test_incremental_detokenizer_never_splits_a_character(tiny_llama: Path) -> None:
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_llama)
    text = "국회의원의 임기는 4년으로 한다. 뷁쀍 똠방각하 ✓ 🐇 끝"  # rare syllables and emoji: byte tokens
    ids = tok.encode(text, add_special_tokens=False)
    assert len(ids) > len(text) // 2
    assert any("\ufffd" in tok.decode([i]) for i in ids)  # some tokens are parts of a character
    detok = sd.IncrementalDetokenizer(tok)
    pieces = [detok.push(i) for i in ids] + [detok.flush()]
    assert "".join(pieces) == tok.decode(ids) == text
    assert not any("\ufffd" in p for p in pieces)
    assert sum(1 for p in pieces if p) > 10


def test_decode_attention_folds_query_heads_onto_kv_heads() -> None:
    # One query token, 6 query heads on 2 KV heads, a mask hiding part of each row: the folded SDPA must
    # equal transformers' own (which repeats the KV heads) — on 5.17 that copy is ~3x the KV traffic.
    import torch
    from transformers.integrations.sdpa_attention import sdpa_attention_forward

    from rabbit_rag.generators.static_decode import decode_attention

    class Attn(torch.nn.Module):
        num_key_value_groups = 3
        is_causal = True

    g = torch.Generator().manual_seed(0)
    b, kv, d, length = 3, 2, 16, 40
    q = torch.randn(b, kv * 3, 1, d, generator=g, dtype=torch.float64)
    k = torch.randn(b, kv, length, d, generator=g, dtype=torch.float64)
    v = torch.randn(b, kv, length, d, generator=g, dtype=torch.float64)
    mask = (torch.arange(length).view(1, length) <= torch.tensor([5, 39, 17]).view(b, 1)).view(b, 1, 1, length)
    got, _ = decode_attention(Attn(), q, k, v, mask, scaling=0.25)
    want, _ = sdpa_attention_forward(Attn(), q, k, v, mask, scaling=0.25)
    assert got.shape == want.shape == (b, 1, kv * 3, d)
    assert torch.allclose(got, want, atol=1e-12)
    two = torch.randn(b, kv * 3, 2, d, generator=g, dtype=torch.float64)  # not a decode step: delegated
    assert torch.equal(decode_attention(Attn(), two, k, v, None)[0], sdpa_attention_forward(Attn(), two, k, v, None)[0])


def test_unsupported_models_are_named(random_llama) -> None:
    from rabbit_rag.generators.static_decode import check_supported

    model = random_llama[0]
    check_supported(model)
    cfg = model.config
    try:
        cfg._attn_implementation = "flash_attention_2"
        with pytest.raises(sd.UnsupportedModelError, match="flash_attention_2"):
            check_supported(model)
    finally:
        cfg._attn_implementation = "sdpa"
    had, before = hasattr(cfg, "layer_types"), getattr(cfg, "layer_types", None)
    cfg.layer_types = ["sliding_attention", "full_attention"]
    try:
        with pytest.raises(sd.UnsupportedModelError, match="sliding_attention"):
            check_supported(model)
    finally:
        if had:
            cfg.layer_types = before
        else:
            del cfg.layer_types
    check_supported(model)
