"""Batched static-cache decoding for a ``transformers`` causal LM: the fast path of
:class:`~rabbit_rag.generators.transformers_chat.TransformersChatModel`.

Why: on a GPU, ``model.generate`` at batch 1 is bound by kernel launches, not by memory bandwidth
(H200, Llama-3.2-3B shape, bf16: 44.9 tokens/s on the main thread against a bound of ~600), and it
serves one request at a time. This decoder:

- keeps one KV-cache *slot* per concurrent request in buffers of fixed size (``slots × max_tokens``
  per layer), so a decode step has fixed shapes for each (batch, length) *bucket*;
- prefills a new request with the model's ordinary forward (a ``DynamicCache``, causal SDPA) and
  copies its keys and values into a free slot; the first token comes from that forward;
- decodes every active request together, one token each per step (continuous batching: a request
  joins at the step after it arrives and leaves when it ends; its slot is reused);
- on CUDA, captures each bucket's decode step as a ``torch.cuda.CUDAGraph`` and replays it. Capture
  and replay happen on the decoder's one long-lived worker thread: the CUDA-graph trees of
  ``torch.compile(mode="reduce-overhead")`` are thread-local, which is why transformers' own
  static-cache compile failed on our worker thread;
- optionally compiles the step with ``torch.compile`` (without CUDA graphs of its own) before the
  capture, so small elementwise kernels are fused;
- overlaps the host with the device on CUDA: step *t+1* is launched before the tokens of step *t* are
  read back, so Python bookkeeping hides behind the GPU (a request that ended at *t* costs one
  discarded row of step *t+1*).

On CPU the same loop runs eagerly (no capture, no overlap); the tests run it on tiny models and
compare its greedy output with ``model.generate`` token for token.

Stopping and cancelling work per request: a request ends at one of its stop tokens or at its token
budget, and :meth:`DecodeRequest.cancel` (what closing a stream does) removes it at the next step.

예::

    decoder = StaticDecoder(model, slots=16, max_tokens=8192)
    request = decoder.submit(tokenizer.encode("대한민국의 수도는?"), max_new_tokens=64, stop_ids={eot})
    for token in request:
        print(tokenizer.decode([token]), end="")
"""

from __future__ import annotations

import contextlib
import inspect
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

#: The attention function the decode step runs under (registered with transformers' AttentionInterface).
DECODE_ATTENTION = "rabbit_rag_decode"

_END = object()
_SMALLEST_LENGTH_BUCKET = 256


class UnsupportedModelError(Exception):
    """The model cannot be decoded by :class:`StaticDecoder` here; the message says why."""


def buckets(limit: int, smallest: int = 1) -> list[int]:
    """Sizes ``smallest·2^k`` and ``smallest·3·2^(k-1)`` below ``limit``, then ``limit`` itself: a padded
    batch or cache length wastes at most a third of a step, with few shapes to capture.

    예: ``buckets(16) == [1, 2, 3, 4, 6, 8, 12, 16]``
    """
    out: set[int] = set()
    x = smallest
    while x < limit:
        out.add(x)
        if x >= 2 and x * 3 // 2 < limit:
            out.add(x * 3 // 2)
        x *= 2
    out.add(limit)
    return sorted(out)


def _bucket(n: int, sizes: Sequence[int]) -> int:
    for s in sizes:
        if s >= n:
            return s
    return sizes[-1]


@dataclass(eq=False)
class DecodeRequest:
    """One generation: prompt ids in, generated token ids out (iterate it), stop ids not included.

    The decoder thread fills :attr:`tokens`; the reader iterates the request (or calls :meth:`cancel`).
    ``new_tokens`` counts every generated token, the stop token included, as ``generate`` does.
    """

    ids: list[int]
    max_new_tokens: int
    temperature: float = 0.0
    top_p: float = 1.0
    top_k: int = 0
    stop_ids: frozenset[int] = frozenset()
    tokens: queue.SimpleQueue = field(default_factory=queue.SimpleQueue, repr=False)
    cancel_event: threading.Event = field(default_factory=threading.Event, repr=False)
    done_event: threading.Event = field(default_factory=threading.Event, repr=False)
    error: BaseException | None = None
    submitted_at: float = 0.0
    first_token_at: float | None = None
    finished_at: float | None = None
    new_tokens: int = 0
    cancelled: bool = False
    # owned by the decoder thread
    row: int = -1
    pos: int = 0
    finished: bool = False

    def cancel(self) -> None:
        """Stop generating: the decoder drops the request at its next step and ends the stream."""
        self.cancel_event.set()

    def __iter__(self) -> Iterator[int]:
        while True:
            item = self.tokens.get()
            if item is _END:
                return
            yield item

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until the decoder is done with the request (finished, cancelled or failed)."""
        return self.done_event.wait(timeout)


@dataclass
class DecoderInfo:
    """What the decoder set up and what it cost: reported by benchmarks and ``repr``."""

    device: str
    dtype: str
    slots: int
    max_tokens: int
    kv_cache_bytes: int
    cuda_graphs: bool
    compiled: bool
    batch_buckets: list[int]
    length_buckets: list[int]
    warmup_s: float = 0.0
    graphs_captured: int = 0
    capture_s: float = 0.0
    notes: list[str] = field(default_factory=list)
    steps: int = 0
    self_check: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class _Graph:
    graph: Any
    logits: Any


@dataclass
class _Inflight:
    rows: list[DecodeRequest]
    values: list[int] | None = None  # CPU: read at once
    buffer: Any = None  # CUDA: pinned host copy, valid after the event
    event: Any = None


class _SlotCache:
    """What the decode step hands the model as its cache: ``update`` writes each row's new key and
    value at that row's own position (rows decode at different lengths) and returns the first ``length``
    positions of the batch's slots; the attention mask hides what lies beyond each row's position."""

    is_compileable = True

    def __init__(self, keys: list[Any], values: list[Any], positions: Any, length: int) -> None:
        self.keys, self.values = keys, values
        b = positions.shape[0]
        _, heads, _, dim = keys[0].shape
        self.index = positions.view(b, 1, 1, 1).expand(b, heads, 1, dim)
        self.batch, self.length = b, length

    def update(self, key_states: Any, value_states: Any, layer_idx: int, *args: Any, **kwargs: Any) -> tuple[Any, Any]:
        k, v = self.keys[layer_idx], self.values[layer_idx]
        k.scatter_(2, self.index, key_states.to(k.dtype))  # writes rows < batch of the whole buffer, in place
        v.scatter_(2, self.index, value_states.to(v.dtype))
        return k[: self.batch, :, : self.length], v[: self.batch, :, : self.length]

    def get_seq_length(self, layer_idx: int = 0) -> int:  # only used when position_ids are missing
        return 0


def decode_attention(
    module: Any,
    query: Any,
    key: Any,
    value: Any,
    attention_mask: Any,
    dropout: float = 0.0,
    scaling: float | None = None,
    is_causal: bool | None = None,
    **kwargs: Any,
) -> tuple[Any, None]:
    """SDPA for the decode step: with one query token and grouped KV heads, the query heads are folded
    onto their KV head (``(b, kv_heads, groups, d)``) instead of copying keys and values ``groups``
    times, which transformers 5.17 does whenever a mask is given (an extra ~3x KV traffic per layer).
    Everything else goes to transformers' own SDPA function."""
    from transformers.integrations.sdpa_attention import sdpa_attention_forward

    groups = int(getattr(module, "num_key_value_groups", 1) or 1)
    b, heads, q_len, dim = query.shape
    if q_len == 1 and groups > 1 and attention_mask is not None and kwargs.get("position_bias") is None:
        q = query.reshape(b, heads // groups, groups, dim)
        out = torch.nn.functional.scaled_dot_product_attention(q, key, value, attn_mask=attention_mask, scale=scaling)
        return out.reshape(b, heads, 1, value.shape[-1]).transpose(1, 2).contiguous(), None
    return sdpa_attention_forward(
        module, query, key, value, attention_mask, dropout=dropout, scaling=scaling, is_causal=is_causal, **kwargs
    )


_registered = False


def _register_attention() -> None:
    global _registered
    if not _registered:
        from transformers import AttentionInterface

        AttentionInterface.register(DECODE_ATTENTION, decode_attention)
        _registered = True


def check_supported(model: Any) -> None:
    """Raise :class:`UnsupportedModelError` saying why ``model`` cannot use the static decoder.

    Needs transformers >= 5 (the cache and mask contracts this decoder relies on), a decoder-only model
    whose layers all use full attention (no sliding windows, no recurrent state) with the ``sdpa`` or
    ``eager`` attention implementation. :class:`StaticDecoder` also checks its output against the
    model's own forward at start-up.
    """
    import transformers

    version = transformers.__version__
    if int(version.split(".")[0]) < 5:
        raise UnsupportedModelError(f"transformers {version} (the static decoder needs transformers >= 5)")
    cfg = getattr(model, "config", None)
    if cfg is None or getattr(cfg, "is_encoder_decoder", False):
        raise UnsupportedModelError("not a decoder-only model")
    impl = getattr(cfg, "_attn_implementation", None)
    if impl not in ("sdpa", "eager"):
        raise UnsupportedModelError(f"attention implementation {impl!r} (sdpa or eager needed)")
    layer_types = getattr(cfg, "layer_types", None)
    if layer_types and any(t != "full_attention" for t in layer_types):
        raise UnsupportedModelError(f"layer types {sorted(set(layer_types))} (full attention only)")
    if getattr(cfg, "sliding_window", None) and getattr(cfg, "use_sliding_window", True):
        raise UnsupportedModelError("sliding-window attention")
    params = inspect.signature(model.forward).parameters
    if not {"position_ids", "logits_to_keep"} <= set(params) or not {"cache", "past_key_values"} & set(params):
        raise UnsupportedModelError(f"{type(model).__name__}.forward lacks position_ids, logits_to_keep or a cache")


def _cache_layers(cache: Any) -> list[tuple[Any, Any]]:
    """Keys and values per layer of a filled ``DynamicCache`` (transformers 5: ``cache.layers``)."""
    out = []
    for layer in cache.layers:
        if type(layer).__name__ != "DynamicLayer":  # sliding, quantized, linear-attention… layers
            raise UnsupportedModelError(f"cache layer {type(layer).__name__}")
        out.append((layer.keys, layer.values))
    return out


class StaticDecoder:
    """Continuous-batching decoder over a slot KV cache, with CUDA-graph decode steps on CUDA.

    One worker thread owns the model's decoding: it is started here, sets up (cache buffers, a
    self-check against the model's own forward, graph capture) before ``__init__`` returns, and then
    serves :meth:`submit`. ``slots`` requests decode together; more wait their turn.

    Raises :class:`UnsupportedModelError` when the model cannot be decoded this way (see
    :func:`check_supported`), when the self-check fails, or when the cache does not fit in memory.

    예: ``StaticDecoder(model, slots=4, max_tokens=4096, cuda_graphs=False)``
    """

    def __init__(
        self,
        model: Any,
        *,
        slots: int = 16,
        max_tokens: int = 8192,
        cuda_graphs: bool = True,
        compile_step: bool = False,
        warm_up: bool = True,
        self_check: bool = True,
        memory_fraction: float = 0.8,
    ) -> None:
        check_supported(model)
        if slots < 1 or max_tokens < 8:
            raise ValueError(f"slots ({slots}) must be >= 1 and max_tokens ({max_tokens}) >= 8")
        self.model = model
        param = next(model.parameters())
        self.device = param.device
        self.dtype = param.dtype
        self.is_cuda = self.device.type == "cuda"
        cfg = model.config
        self._layers = int(cfg.num_hidden_layers)
        heads = int(cfg.num_attention_heads)
        self._kv_heads = int(getattr(cfg, "num_key_value_heads", None) or heads)
        self._head_dim = int(getattr(cfg, "head_dim", None) or cfg.hidden_size // heads)
        self.max_tokens = min(max_tokens, int(getattr(cfg, "max_position_embeddings", max_tokens) or max_tokens))
        per_slot = 2 * self._layers * self._kv_heads * self._head_dim * self.max_tokens * param.element_size()
        notes = []
        if self.is_cuda:
            free, _ = torch.cuda.mem_get_info(self.device)
            fit = int(free * memory_fraction // per_slot)
            if fit < 1:
                raise UnsupportedModelError(
                    f"a {self.max_tokens}-token KV cache slot needs {per_slot / 1e9:.2f} GB, "
                    f"{free / 1e9:.2f} GB free on {self.device}; lower max_tokens"
                )
            if fit < slots:
                notes.append(f"{slots} slots do not fit in {free / 1e9:.1f} GB free; using {fit}")
                slots = fit
        self.slots = slots
        self._cache_kw = "cache" if "cache" in inspect.signature(model.forward).parameters else "past_key_values"
        self.info = DecoderInfo(
            device=str(self.device), dtype=str(self.dtype).replace("torch.", ""), slots=slots,
            max_tokens=self.max_tokens, kv_cache_bytes=per_slot * slots, cuda_graphs=bool(cuda_graphs and self.is_cuda),
            compiled=bool(compile_step), batch_buckets=buckets(slots),
            length_buckets=buckets(self.max_tokens, min(_SMALLEST_LENGTH_BUCKET, self.max_tokens)), notes=notes,
        )  # fmt: skip
        self._compile = compile_step
        self._lookahead = self.is_cuda  # overlap host and device; on CPU the step is synchronous anyway
        self._want_warm_up, self._want_check = warm_up, self_check
        self.active: list[DecodeRequest] = []
        self.pending: deque[DecodeRequest] = deque()
        self._inbox: queue.SimpleQueue = queue.SimpleQueue()
        self._graphs: dict[tuple[int, int], _Graph] = {}
        self._stopping = False
        self._ready = threading.Event()
        self._setup_error: BaseException | None = None
        _register_attention()
        self._thread = threading.Thread(target=self._run, name="rabbit-rag-decode", daemon=True)
        self._thread.start()
        self._ready.wait()
        if self._setup_error is not None:
            self._thread.join(5)
            e = self._setup_error
            if isinstance(e, UnsupportedModelError):
                raise e
            raise UnsupportedModelError(f"set-up failed: {type(e).__name__}: {e}") from e

    # -- public --------------------------------------------------------------------------------------
    def submit(
        self,
        ids: Sequence[int],
        max_new_tokens: int,
        *,
        temperature: float = 0.0,
        top_p: float = 1.0,
        top_k: int = 0,
        stop_ids: Sequence[int] = (),
    ) -> DecodeRequest:
        """Queue a generation for ``ids``; iterate the returned request for its tokens.

        ``max_new_tokens`` is cut to what the slot leaves after the prompt; a prompt that leaves no room
        is a ``ValueError``.
        """
        if not ids:
            raise ValueError("empty prompt")
        room = self.max_tokens - len(ids)
        if room <= 0:
            raise ValueError(f"the prompt has {len(ids)} tokens, a decoder slot holds {self.max_tokens}")
        if self._stopping or not self._thread.is_alive():
            raise RuntimeError("the decoder is closed")
        req = DecodeRequest(
            list(ids), max(1, min(int(max_new_tokens), room)), float(temperature or 0.0), float(top_p),
            int(top_k or 0), frozenset(stop_ids), submitted_at=time.perf_counter(),
        )  # fmt: skip
        self._inbox.put(req)
        return req

    def close(self) -> None:
        """Stop the worker thread (requests still running end as cancelled)."""
        if not self._stopping:
            self._stopping = True
            self._inbox.put(None)
            if threading.current_thread() is not self._thread:
                self._thread.join(30)

    def __repr__(self) -> str:
        i = self.info
        return (
            f"StaticDecoder({i.device}, {i.dtype}, slots={i.slots}, max_tokens={i.max_tokens}, "
            f"cuda_graphs={i.cuda_graphs}, compiled={i.compiled}, graphs={i.graphs_captured})"
        )

    # -- the worker thread ---------------------------------------------------------------------------
    def _run(self) -> None:
        with torch.inference_mode():
            try:
                if self.is_cuda:  # graph capture uses the current device's streams
                    torch.cuda.set_device(self.device)
                self._setup()
            except BaseException as e:
                self._setup_error = e
                self._stopping = True
                self._ready.set()
                return
            self._ready.set()
            inflight: _Inflight | None = None
            while True:
                try:
                    if not self.active and not self.pending and inflight is None:
                        item = self._inbox.get()  # idle: block until a request (or close) arrives
                        if item is None:
                            break
                        self.pending.append(item)
                    closing = self._drain_inbox()
                    if closing:
                        break
                    if self._needs_recompose():
                        if inflight is not None:
                            self._process(inflight)
                            inflight = None
                        self._recompose()
                        continue
                    if not self.active:
                        continue
                    launched = self._launch()
                    if self._lookahead:
                        if inflight is not None:
                            self._process(inflight)
                        inflight = launched
                    else:
                        self._process(launched)
                except BaseException as e:  # a failed step fails the requests in it; the decoder serves on
                    inflight = None
                    for req in self.active:
                        self._end(req, error=e)
                    self.active.clear()
                    if self.is_cuda:
                        with contextlib.suppress(BaseException):
                            torch.cuda.synchronize(self.device)
            for req in [*self.active, *self.pending]:
                self._end(req, cancelled=True)
            self.active.clear()
            self.pending.clear()
            while True:
                try:
                    item = self._inbox.get_nowait()
                except queue.Empty:
                    break
                if item is not None:
                    self._end(item, cancelled=True)

    def _drain_inbox(self) -> bool:
        while True:
            try:
                item = self._inbox.get_nowait()
            except queue.Empty:
                return False
            if item is None:
                return True
            self.pending.append(item)

    def _setup(self) -> None:
        t0 = time.perf_counter()
        # Compiled, one spare row and position: a bucket then never spans a whole buffer dimension, which
        # the compiler would specialise on (one more compilation per shape that does).
        spare = 1 if self._compile else 0
        shape = (self.slots + spare, self._kv_heads, self.max_tokens + spare, self._head_dim)
        kw = {"dtype": self.dtype, "device": self.device}
        self._k = [torch.zeros(shape, **kw) for _ in range(self._layers)]
        self._v = [torch.zeros(shape, **kw) for _ in range(self._layers)]
        long = {"dtype": torch.long, "device": self.device}
        self._tokens = torch.zeros(self.slots, **long)  # the next input token of each row
        self._pos = torch.zeros(self.slots, **long)  # the cache position each row writes next
        self._arange = torch.arange(self.max_tokens, **long)
        if self.is_cuda:
            self._host = [torch.zeros(self.slots, dtype=torch.long, pin_memory=True) for _ in range(2)]
            self._events = [torch.cuda.Event(), torch.cuda.Event()]
            self._flip = 0
            self._pool = torch.cuda.graph_pool_handle()
        self._forward = self._forward_eager
        if self._compile:
            self._forward = torch.compile(self._forward_eager, dynamic=True, fullgraph=False)
        if self._want_check:
            self._self_check(self._step)  # eager (or compiled): the step's arithmetic against the model's forward
        if self._want_warm_up:
            self._warm_up()
            if self.info.graphs_captured and self._want_check:
                self._self_check(self._run_step)  # again, through the captured graph of the smallest bucket
        self.info.warmup_s = time.perf_counter() - t0

    def _warm_up(self) -> None:
        """Capture every bucket's graph now (largest first, so the shared memory pool fits them all), or
        with compilation but no graphs run the two extreme buckets once so the compiler has seen them."""
        sizes = [(b, L) for b in reversed(self.info.batch_buckets) for L in reversed(self.info.length_buckets)]
        if self.info.cuda_graphs:
            for b, L in sizes:
                if not self.info.cuda_graphs:  # a capture failed: the decoder went eager
                    break
                self._graph_for(b, L)
        elif self._compile:  # batch 1 is compiled on its own (size-1 specialisation), larger ones once
            for b, L in {(1, self.info.length_buckets[0]), sizes[0]}:
                self._step(b, L)

    # -- one decode step -------------------------------------------------------------------------------
    def _forward_eager(self, ids: Any, positions: Any, arange: Any) -> Any:
        b, length = ids.shape[0], arange.shape[0]
        mask = (arange.view(1, length) <= positions.view(b, 1)).view(b, 1, 1, length)
        cache = _SlotCache(self._k, self._v, positions, length)
        out = self.model(
            input_ids=ids, position_ids=positions.view(b, 1), attention_mask=mask, use_cache=True,
            **{self._cache_kw: cache},
        )  # fmt: skip
        return out.logits[:, -1, :]

    def _step(self, b: int, length: int) -> Any:
        """Decode one token for rows ``0..b-1`` attending to the first ``length`` cache positions; feeds
        the greedy token back as the next input and advances the positions (all on the device)."""
        cfg = self.model.config
        previous = cfg._attn_implementation
        cfg._attn_implementation = DECODE_ATTENTION
        try:
            positions = self._pos[:b].clamp(max=length - 1)  # rows past their end stay inside the buffer
            logits = self._forward(self._tokens[:b].view(b, 1), positions, self._arange[:length])
        finally:
            cfg._attn_implementation = previous
        self._tokens[:b].copy_(logits.argmax(-1))
        self._pos[:b].add_(1)
        return logits

    def _graph_for(self, b: int, length: int) -> _Graph | None:
        g = self._graphs.get((b, length))
        if g is not None or not self.info.cuda_graphs:
            return g
        t0 = time.perf_counter()
        saved = (self._tokens.clone(), self._pos.clone())  # warm-up runs advance them; the KV rows they
        try:  # write lie at or past each row's position, which the real step rewrites before reading
            side = torch.cuda.Stream(self.device)
            side.wait_stream(torch.cuda.current_stream(self.device))
            with torch.cuda.stream(side):  # warm-up: lazy initialisation (cuBLAS workspaces…) happens outside capture
                for _ in range(1 if self._graphs else 2):
                    self._step(b, length)
            torch.cuda.current_stream(self.device).wait_stream(side)
            graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(graph, pool=self._pool, capture_error_mode="thread_local"):
                logits = self._step(b, length)
            g = self._graphs[(b, length)] = _Graph(graph, logits)
            self.info.graphs_captured += 1
            self.info.capture_s += time.perf_counter() - t0
        except Exception as e:  # decode eagerly rather than not at all
            self.info.cuda_graphs = False
            self._graphs.clear()
            self.info.graphs_captured = 0
            self.info.notes.append(f"CUDA graph capture failed at batch {b}, length {length}: {type(e).__name__}: {e}")
            g = None
        finally:
            self._tokens.copy_(saved[0])
            self._pos.copy_(saved[1])
        return g

    def _run_step(self, b: int, length: int) -> Any:
        g = self._graph_for(b, length)
        if g is not None:
            g.graph.replay()
            return g.logits
        return self._step(b, length)

    # -- scheduling ------------------------------------------------------------------------------------
    def _needs_recompose(self) -> bool:
        if self.pending and (len(self.active) < self.slots or any(r.cancel_event.is_set() for r in self.pending)):
            return True
        return any(r.finished or r.cancel_event.is_set() for r in self.active)

    def _recompose(self) -> None:
        """Between steps (nothing in flight): drop finished and cancelled requests, keeping the active
        rows packed at the front, then prefill waiting requests into the free rows."""
        for req in [r for r in self.pending if r.cancel_event.is_set()]:
            self.pending.remove(req)
            self._end(req, cancelled=True)
        i = 0
        while i < len(self.active):
            req = self.active[i]
            if not (req.finished or req.cancel_event.is_set()):
                i += 1
                continue
            if not req.finished:
                self._end(req, cancelled=True)
            last = self.active.pop()
            if last is not req:
                self._move(last.row, req.row, last.pos)
                last.row = req.row
                self.active[i] = last
        while self.pending and len(self.active) < self.slots:
            req = self.pending.popleft()
            try:
                self._prefill(req)
            except Exception as e:
                if req in self.active:
                    self.active.remove(req)
                self._end(req, error=e)

    def _move(self, src: int, dst: int, n: int) -> None:
        for k, v in zip(self._k, self._v, strict=True):
            k[dst, :, :n].copy_(k[src, :, :n])
            v[dst, :, :n].copy_(v[src, :, :n])
        self._tokens[dst] = self._tokens[src]
        self._pos[dst] = self._pos[src]

    def _prefill(self, req: DecodeRequest) -> None:
        from transformers import DynamicCache

        row, n = len(self.active), len(req.ids)
        ids = torch.tensor([req.ids], dtype=torch.long, device=self.device)
        cache = DynamicCache(config=self.model.config)
        out = self.model(input_ids=ids, use_cache=True, logits_to_keep=1, **{self._cache_kw: cache})
        layers = _cache_layers(cache)
        if len(layers) != self._layers:
            raise UnsupportedModelError(f"the model's cache has {len(layers)} layers, its config {self._layers}")
        for (keys, values), k, v in zip(layers, self._k, self._v, strict=True):
            k[row, :, :n].copy_(keys[0])
            v[row, :, :n].copy_(values[0])
        first = self._choose(out.logits[:, -1, :], [req])
        self._tokens[row : row + 1].copy_(first)
        self._pos[row] = n
        req.row, req.pos = row, n
        self.active.append(req)
        self._deliver(req, int(first.item()), time.perf_counter())

    def _choose(self, logits: Any, reqs: Sequence[DecodeRequest]) -> Any:
        """The next token of each row of ``logits``: greedy, or sampled for requests with a temperature."""
        greedy = logits.argmax(-1)
        rows = [i for i, r in enumerate(reqs) if r.temperature > 0]
        if rows:
            idx = torch.tensor(rows, device=logits.device)
            sampled = _sample(logits.index_select(0, idx), [reqs[i] for i in rows])
            greedy = greedy.index_copy(0, idx, sampled)
        return greedy

    def _launch(self) -> _Inflight:
        n = len(self.active)
        b = _bucket(n, self.info.batch_buckets)
        length = min(_bucket(max(r.pos for r in self.active) + 1, self.info.length_buckets), self.max_tokens)
        logits = self._run_step(b, length)
        self.info.steps += 1
        for req in self.active:
            req.pos += 1
        if any(r.temperature > 0 for r in self.active):
            rows = [i for i, r in enumerate(self.active) if r.temperature > 0]
            idx = torch.tensor(rows, device=self.device)
            sampled = _sample(logits.index_select(0, idx), [self.active[i] for i in rows])
            self._tokens.index_copy_(0, idx, sampled)
        rows_now = list(self.active)
        if not self.is_cuda:
            return _Inflight(rows_now, values=self._tokens[:n].tolist())
        buf, event = self._host[self._flip], self._events[self._flip]  # two of each: one step in flight, one read
        self._flip ^= 1
        buf[:n].copy_(self._tokens[:n], non_blocking=True)
        event.record()
        return _Inflight(rows_now, buffer=buf, event=event)

    def _process(self, inflight: _Inflight) -> None:
        if inflight.values is not None:
            values = inflight.values
        else:
            inflight.event.synchronize()
            values = inflight.buffer[: len(inflight.rows)].tolist()
        now = time.perf_counter()
        for req, token in zip(inflight.rows, values, strict=True):
            if not req.finished:
                self._deliver(req, token, now)

    def _deliver(self, req: DecodeRequest, token: int, now: float) -> None:
        req.new_tokens += 1
        if req.first_token_at is None:
            req.first_token_at = now
        if token in req.stop_ids:
            self._end(req)
            return
        req.tokens.put(token)
        if req.new_tokens >= req.max_new_tokens:  # submit() capped it to the room the slot leaves
            self._end(req)

    def _end(self, req: DecodeRequest, *, cancelled: bool = False, error: BaseException | None = None) -> None:
        if req.done_event.is_set():
            return
        req.finished = True
        req.cancelled = cancelled
        req.error = error
        req.finished_at = time.perf_counter()
        req.tokens.put(_END)
        req.done_event.set()

    # -- the start-up check ----------------------------------------------------------------------------
    def _self_check(self, step: Callable[[int, int], Any]) -> None:
        """Prefill 6 tokens into row 0, decode 4 given tokens with ``step`` and compare each step's logits
        with the model's own forward over all 10 tokens: a model whose attention or cache does not follow
        the contracts this decoder relies on fails here instead of answering nonsense."""
        vocab = int(self.model.config.vocab_size)
        ids = [(17 + 31 * i) % vocab for i in range(10)]
        ref = self.model(input_ids=torch.tensor([ids], device=self.device), use_cache=False).logits[0].float()
        self._prefill(DecodeRequest(ids[:6], max_new_tokens=10**9))
        got = []
        for i, token in enumerate(ids[6:]):
            self._tokens[0] = token
            self._pos[0] = 6 + i
            got.append(step(1, self.info.length_buckets[0])[0].float().clone())
        self.active.clear()
        expect = ref[6:]
        scale = float(expect.abs().max()) or 1.0
        err = max(float((g - e).abs().max()) for g, e in zip(got, expect, strict=True)) / scale
        cos = min(float(torch.nn.functional.cosine_similarity(g, e, dim=0)) for g, e in zip(got, expect, strict=True))
        # float32: the same arithmetic in another order. bf16/fp16 round every op (~0.4 % each, over all the
        # layers), but keep the direction of the logit vector; a misplaced key or a wrong mask in a trained
        # model moves it by far more.
        exact = self.dtype in (torch.float32, torch.float64)
        ok = err <= 1e-3 if exact else (err <= 0.1 and cos >= 0.995)
        where = " (graph)" if self.info.graphs_captured else ""
        self.info.self_check.append({"graph": bool(where), "max_error_of_scale": err, "min_cosine": cos})
        if not ok:
            raise UnsupportedModelError(
                f"self-check{where} failed: decode-step logits differ from the model's forward by {err:.2e} of "
                f"their scale (cosine {cos:.4f})"
            )


def _sample(logits: Any, reqs: Sequence[DecodeRequest]) -> Any:
    """One token per row from ``softmax(logits / temperature)``, restricted to the top-k and the top-p
    nucleus of each row's request (the same filters as transformers' logits warpers)."""
    x = logits.float() / torch.tensor([r.temperature for r in reqs], device=logits.device).unsqueeze(1)
    for i, r in enumerate(reqs):
        if 0 < r.top_k < x.shape[1]:
            kth = torch.topk(x[i], r.top_k).values[-1]
            x[i] = x[i].masked_fill(x[i] < kth, float("-inf"))
    if any(r.top_p < 1 for r in reqs):
        top_p = torch.tensor([r.top_p for r in reqs], device=logits.device).unsqueeze(1)
        sorted_x, order = torch.sort(x, descending=True, dim=-1)
        cum = sorted_x.softmax(-1).cumsum(-1)
        drop = cum - sorted_x.softmax(-1) > top_p  # keep the tokens needed to reach top_p, at least one
        sorted_x = sorted_x.masked_fill(drop, float("-inf"))
        x = torch.full_like(x, float("-inf")).scatter(1, order, sorted_x)
    return torch.multinomial(x.softmax(-1), 1).squeeze(1)


class IncrementalDetokenizer:
    """Text of a growing token sequence, piece by piece, never splitting a character: pieces are emitted
    once the decoded text no longer ends in an incomplete UTF-8 sequence (``�``), and only a short window
    of tokens is re-decoded each time (the method of text-generation-inference's ``decode_token``).

    예::

        detok = IncrementalDetokenizer(tokenizer)
        text = "".join(detok.push(t) for t in ids) + detok.flush()   # == tokenizer.decode(ids)
    """

    def __init__(self, tokenizer: Any, skip_special_tokens: bool = True) -> None:
        self._decode: Callable[[list[int]], str] = lambda ids: tokenizer.decode(
            ids, skip_special_tokens=skip_special_tokens
        )
        self.tokens: list[int] = []
        self._prefix = 0
        self._read = 0

    def push(self, token: int) -> str:
        self.tokens.append(token)
        before = self._decode(self.tokens[self._prefix : self._read])
        text = self._decode(self.tokens[self._prefix :])
        if len(text) > len(before) and not text.endswith("\ufffd"):
            self._prefix, self._read = self._read, len(self.tokens)
            return text[len(before) :]
        return ""

    def flush(self) -> str:
        """Whatever is still held back (an incomplete character at the very end)."""
        before = self._decode(self.tokens[self._prefix : self._read])
        text = self._decode(self.tokens[self._prefix :])
        self._prefix = self._read = len(self.tokens)
        return text[len(before) :]
